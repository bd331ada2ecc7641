#pragma once
/// @file
/// What MS2 does with one WebSocket frame, kept apart from sockets so it is tested alone.

#include <cstdint>
#include <string>
#include <string_view>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms2 {

/// The fate of a frame; only kOk is produced to Kafka, the rest are counted and dropped.
enum class FrameOutcome {
  kOk,         ///< decoded and stamped
  kNotText,    ///< a binary frame: the protocol is JSON text only
  kMalformed,  ///< not a message (bad JSON, wrong types, other naming…)
  kBadStamps,  ///< a message, but its stamps show it skipped MS1 or already passed MS2
};

/// Short name of an outcome, for logs.
std::string_view to_string(FrameOutcome outcome);

/// A processed frame: the record to produce, or why there is none.
struct FrameResult {
  FrameOutcome outcome = FrameOutcome::kOk;  ///< what to do with it
  std::string payload;                       ///< stamped JSON to produce (kOk only)
  std::int64_t session_id = 0;               ///< the session, for the record key (kOk only)
  std::int64_t id = 0;                       ///< message id, for logs (kOk only)
  std::string reason;                        ///< why it was refused (empty on kOk)
  std::string traceparent;                   ///< the sender's trace context from the frame, if any
};

/// Decodes `frame`, stamps the MS2 hop with `now` and re-encodes, so everything in the topic is a
/// valid message one hop further; `now` is a parameter so tests need no clock.
FrameResult process_frame(std::string_view frame, bool is_text, common::Naming naming, common::Timestamp now);

/// The Kafka record key of message `id` of session `session_id` under `kafka.key`: the session id
/// (`session`: a session stays on one partition, in order) or `<session_id>/<id>` (`message`:
/// spread over the partitions by the key's hash).
std::string record_key(const common::KafkaConfig& config, std::int64_t session_id, std::int64_t id);

}  // namespace ringtrace::ms2
