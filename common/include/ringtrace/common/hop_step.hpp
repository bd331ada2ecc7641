#pragma once
/// @file
/// The step every service takes with a message that reaches it: decode → check → stamp →
/// encode, with one outcome, so the three hops refuse the same things in the same words. The
/// transport's own checks (a text frame, a JSON media type) stay with the transport; it reports
/// them through the same outcome.

#include <string>
#include <string_view>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::common {

/// The fate of a message at a hop; only kOk goes on, the rest are refused and counted.
enum class HopOutcome {
  kOk,                    ///< decoded, checked and stamped
  kNotText,               ///< a binary WebSocket frame: the protocol is JSON text only
  kUnsupportedMediaType,  ///< an HTTP body whose Content-Type is not JSON
  kMalformed,             ///< not a message: bad JSON, wrong types, other naming
  kUnstorable,            ///< a message the hop's own check refuses (a stamp the database cannot hold)
  kBadStamps,             ///< its stamps show it skipped a hop or already passed this one
};

/// Short name of an outcome, for logs and span statuses.
std::string_view to_string(HopOutcome outcome);

/// What a hop made of one message.
struct HopResult {
  HopOutcome outcome = HopOutcome::kOk;  ///< what to do with it
  /// Stamped with `now` (kOk); as decoded for kUnstorable and kBadStamps, so logs can name it;
  /// empty (ids 0) when nothing was decoded.
  Message message;
  std::string payload;      ///< the stamped message re-encoded for the next hop (kOk, not at Hop::kEnd)
  std::string reason;       ///< why it was refused (empty on kOk), as logs and error bodies say it
  std::string traceparent;  ///< the sender's trace context read from the body (HopOptions::traceparent_in_body)

  /// The message goes on.
  [[nodiscard]] bool ok() const { return outcome == HopOutcome::kOk; }
};

/// A refusal before decoding, by the transport (kNotText, kUnsupportedMediaType).
HopResult refuse(HopOutcome outcome, std::string reason);

/// What a hop adds to the common step.
struct HopOptions {
  /// The body carries its trace context as a `traceparent` key (a WebSocket frame has no headers).
  bool traceparent_in_body = false;
  /// The hop's own check of a decoded message: why it is refused (kUnstorable), or empty.
  std::string (*check)(const Message& message, Naming naming) = nullptr;
};

/// Decodes `body` in `naming`, runs `options.check`, stamps `hop` with `now` and, unless `hop`
/// is the last (Hop::kEnd stores instead of passing on), re-encodes it: everything a hop passes
/// on is a valid message one hop further. `now` is a parameter so tests need no clock.
HopResult run_hop(Hop hop, std::string_view body, Naming naming, Timestamp now, const HopOptions& options = {});

}  // namespace ringtrace::common
