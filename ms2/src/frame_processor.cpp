#include "ringtrace/ms2/frame_processor.hpp"

#include <utility>

namespace ringtrace::ms2 {

std::string_view to_string(FrameOutcome outcome) {
  switch (outcome) {
    case FrameOutcome::kOk: return "ok";
    case FrameOutcome::kNotText: return "not_text";
    case FrameOutcome::kMalformed: return "malformed";
    case FrameOutcome::kBadStamps: return "bad_stamps";
  }
  return "unknown";
}

FrameResult process_frame(std::string_view frame, bool is_text, common::Naming naming, common::Timestamp now) {
  FrameResult result;
  if (!is_text) {
    result.outcome = FrameOutcome::kNotText;
    result.reason = "binary frame (" + std::to_string(frame.size()) + " bytes); messages are JSON text frames";
    return result;
  }
  auto decoded = common::decode(frame, naming, &result.traceparent);
  if (!decoded) {
    result.outcome = FrameOutcome::kMalformed;
    result.reason = std::move(decoded.error);
    return result;
  }
  auto& message = *decoded.message;
  if (auto stamped = common::stamp(message, common::Hop::kMs2, now); stamped != common::StampResult::kOk) {
    result.outcome = FrameOutcome::kBadStamps;
    result.reason = std::string(common::to_string(stamped));
    result.session_id = message.session_id;
    result.id = message.id;
    return result;
  }
  result.payload = common::encode(message, naming);
  result.session_id = message.session_id;
  result.id = message.id;
  return result;
}

std::string record_key(const common::KafkaConfig& config, std::int64_t session_id, std::int64_t id) {
  if (config.key == "message") return std::to_string(session_id) + "/" + std::to_string(id);
  return std::to_string(session_id);
}

}  // namespace ringtrace::ms2
