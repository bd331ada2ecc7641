#pragma once
/// @file
/// Peer clock offsets by the NTP four-timestamp method: one exchange gives the peer's offset
/// within ± half its round trip less the peer's own time; a filter keeps the tightest of recent
/// exchanges. Also the strict wire forms the ring carries the stamps in (WebSocket ping and pong
/// payloads, /store headers). Plain code, no I/O: the transports stamp, this decides.

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::common {

/// One exchange: t1 request left (local clock), t2 it arrived (peer clock), t3 the answer left
/// (peer clock), t4 it arrived (local clock).
struct ClockSample {
  Timestamp t1{};  ///< local clock, request sent
  Timestamp t2{};  ///< peer clock, request received
  Timestamp t3{};  ///< peer clock, answer sent
  Timestamp t4{};  ///< local clock, answer received
};

/// The peer's clock minus the local one, as far as the exchanges can tell.
struct ClockEstimate {
  std::int64_t offset_us = 0;       ///< peer clock minus local clock, in microseconds
  std::int64_t uncertainty_us = 0;  ///< the true offset lies within offset ± this (given causality)
  std::int64_t samples = 0;         ///< accepted exchanges the estimate was chosen from
  Timestamp measured_at{};          ///< local clock when the chosen exchange ended (its t4)
};

/// The estimate of one exchange, or nullopt when its stamps contradict causality (a clock step
/// mid-exchange: negative round trip or negative peer time).
std::optional<ClockEstimate> estimate(const ClockSample& sample);

/// Keeps the tightest exchange of each one-second slot (by t4) for the last eight slots, so a
/// burst of wide exchanges under load cannot push the clean ones out. Not thread-safe.
class ClockFilter {
 public:
  /// Slots kept: the estimate is the best of about this many seconds.
  static constexpr std::size_t kSlots = 8;

  /// Takes one exchange; false (counted in rejected()) when its stamps contradict causality.
  bool add(const ClockSample& sample);
  /// The smallest-uncertainty exchange of the slots no older than kSlots seconds before `now`
  /// (the newer one on a tie); nullopt when there is none.
  [[nodiscard]] std::optional<ClockEstimate> best(Timestamp now) const;
  /// best() as of the newest exchange taken, for callers without a clock at hand.
  [[nodiscard]] std::optional<ClockEstimate> best() const;
  /// Exchanges taken since construction.
  [[nodiscard]] std::uint64_t accepted() const { return accepted_; }
  /// Exchanges refused since construction.
  [[nodiscard]] std::uint64_t rejected() const { return rejected_; }

 private:
  /// The best exchange of one second.
  struct Slot {
    std::int64_t second = 0;   ///< t4's second since the epoch
    ClockEstimate best;        ///< its tightest exchange
    std::int64_t count = 0;    ///< exchanges that fell in it; 0 = empty
  };
  std::array<Slot, kSlots> slots_{};
  std::int64_t newest_second_ = std::numeric_limits<std::int64_t>::min();  ///< of the newest exchange taken
  std::uint64_t accepted_ = 0;
  std::uint64_t rejected_ = 0;
};

/// HTTP header on every /store answer: MS1's receive and answer stamps, `<t2_us> <t3_us>`.
inline constexpr std::string_view kClockHeader = "Ringtrace-Clock";
/// HTTP header on /store requests: MS3's estimate of MS1's clock minus its own.
inline constexpr std::string_view kClockOffsetHeader = "Ringtrace-Clock-Offset";

/// A WebSocket clock probe: MS1's ping payload.
struct ClockProbe {
  std::uint64_t seq = 0;  ///< matches the reply to the probe
  Timestamp t1{};         ///< sender's clock when the ping left
};

/// The stamped reply to a probe: the peer's unsolicited pong payload.
struct ClockReply {
  std::uint64_t seq = 0;  ///< the probe's
  Timestamp t1{};         ///< the probe's, echoed
  Timestamp t2{};         ///< peer clock, probe received
  Timestamp t3{};         ///< peer clock, reply sent
};

/// The two stamps an HTTP answer carries in kClockHeader.
struct ClockStamps {
  Timestamp t2{};  ///< server clock, request handled
  Timestamp t3{};  ///< server clock, answer sent
};

/// `RTC1 <seq> <t1_us>` (µs since the epoch): at most 46 bytes, well inside a ping's 125.
std::string format_probe(const ClockProbe& probe);
/// The inverse of format_probe, byte for byte; nullopt on any deviation (so the parser is the spec).
std::optional<ClockProbe> parse_probe(std::string_view payload);

/// `RTC1 <seq> <t1_us> <t2_us> <t3_us>`: at most 86 bytes.
std::string format_reply(const ClockReply& reply);
/// The inverse of format_reply, byte for byte; nullopt on any deviation.
std::optional<ClockReply> parse_reply(std::string_view payload);

/// `<t2_us> <t3_us>`, the value of kClockHeader.
std::string format_clock_stamps(const ClockStamps& stamps);
/// The inverse of format_clock_stamps; nullopt on any deviation.
std::optional<ClockStamps> parse_clock_stamps(std::string_view value);

/// `offset_us=<i64>;uncertainty_us=<u>;samples=<u>`, the value of kClockOffsetHeader (no spaces,
/// so it passes the HTTP client's header check). measured_at is not sent: the receiver dates it.
std::string format_clock_report(const ClockEstimate& estimate);
/// The inverse of format_clock_report (measured_at left empty); nullopt on any deviation.
std::optional<ClockEstimate> parse_clock_report(std::string_view value);

}  // namespace ringtrace::common
