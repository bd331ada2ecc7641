#pragma once
/// @file
/// The two sides of MS1's link to MS2, as the session sees them, so the session runner and the
/// API can be tested without a WebSocket.

#include <cstdint>
#include <string>

#include "ringtrace/common/clock_offset.hpp"

namespace ringtrace::ms1 {

/// What the session needs from the link to MS2; WsClient is the real one.
class Ms2Link {
 public:
  virtual ~Ms2Link() = default;
  /// True while frames can be sent.
  [[nodiscard]] virtual bool connected() const = 0;
  /// Queues a text frame; false (nothing queued) when not connected.
  virtual bool send(std::string text) = 0;
  /// Successful handshakes so far (a reconnect count for metrics).
  [[nodiscard]] virtual std::uint64_t connects() const = 0;
};

/// Told when the link changes; called on the event loop.
class WsLinkListener {
 public:
  virtual ~WsLinkListener() = default;
  /// The handshake completed; messages can be sent.
  virtual void on_link_up() = 0;
  /// The link dropped; queued frames were discarded and a reconnect is scheduled.
  virtual void on_link_down() = 0;
  /// MS2 answered a clock probe: one exchange of stamps, MS1's clock in t1 and t4, MS2's in t2
  /// and t3. An MS2 that does not stamp its pongs simply never calls this.
  virtual void on_clock_sample(const common::ClockSample& /*sample*/) {}
};

}  // namespace ringtrace::ms1
