#pragma once
/// @file
/// The message that travels the ring, its field naming variants and its JSON codec.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::common {

/// Which field names the timestamps carry: seed 001 (`service1_timestamp`…) or seed 000 (`MC1_timestamp`…).
enum class Naming { kService, kMc };

/// The four places a message is stamped, in ring order.
enum class Hop { kMs1 = 0, kMs2 = 1, kMs3 = 2, kEnd = 3 };

/// Number of hops, i.e. timestamps in a message.
inline constexpr std::size_t kHopCount = 4;

/// One message of one session; a stamp not yet made is empty (JSON `null`).
struct Message {
  std::int64_t id = 0;          ///< 1..N within a session
  std::int64_t session_id = 0;  ///< never reused, also across restarts
  std::array<std::optional<Timestamp>, kHopCount> stamps{};  ///< indexed by Hop

  /// The stamp made at `hop`.
  [[nodiscard]] const std::optional<Timestamp>& at(Hop hop) const { return stamps[static_cast<std::size_t>(hop)]; }
  /// The stamp made at `hop`, writable.
  std::optional<Timestamp>& at(Hop hop) { return stamps[static_cast<std::size_t>(hop)]; }

  /// Field-wise equality (tests compare what went round the ring with what was sent).
  friend bool operator==(const Message&, const Message&) = default;
};

/// JSON key (and database column) of the timestamp made at `hop` under `naming`.
std::string_view field_name(Naming naming, Hop hop);

/// Parses `service` or `mc`; nullopt otherwise.
std::optional<Naming> parse_naming(std::string_view text);

/// The configuration spelling of `naming`.
std::string_view to_string(Naming naming);

/// Serialises to compact JSON with all six keys (null for stamps not made yet). A non-empty
/// `traceparent` adds a seventh key, `traceparent`: the trace context of a WebSocket frame,
/// which has no headers to carry it.
std::string encode(const Message& message, Naming naming, std::string_view traceparent = {});

/// Outcome of decoding: a message, or the reason it was rejected.
struct DecodeResult {
  std::optional<Message> message;  ///< set on success
  std::string error;               ///< human-readable reason, empty on success

  /// True when a message was decoded.
  explicit operator bool() const { return message.has_value(); }
};

/// Strictly decodes one JSON message: an object with integer `id` and `session_id` (>= 1),
/// timestamps in the configured naming as RFC 3339 strings or null; unknown keys are rejected
/// so a sender using the other naming is told so instead of silently losing stamps. With a
/// non-null `traceparent`, a string key `traceparent` is accepted and copied there (WebSocket
/// frames); without, it is an unknown key.
DecodeResult decode(std::string_view json, Naming naming, std::string* traceparent = nullptr);

/// What stamping decided; callers reject the message on anything but kOk.
enum class StampResult { kOk, kMissingPrevious, kAlreadyStamped };

/// Human-readable form of a stamping outcome, for logs and HTTP error bodies.
std::string_view to_string(StampResult result);

/// Records `now` at `hop`, insisting the previous hop stamped and no later hop did,
/// which catches messages that skipped a service or are replayed into the wrong one.
StampResult stamp(Message& message, Hop hop, Timestamp now);

}  // namespace ringtrace::common
