#include "ringtrace/ms2/frame_processor.hpp"

namespace ringtrace::ms2 {

common::HopResult process_frame(std::string_view frame, bool is_text, common::Naming naming, common::Timestamp now) {
  if (!is_text) {
    return common::refuse(common::HopOutcome::kNotText,
                          "binary frame (" + std::to_string(frame.size()) + " bytes); messages are JSON text frames");
  }
  return common::run_hop(common::Hop::kMs2, frame, naming, now, {.traceparent_in_body = true});
}

std::string record_key(const common::KafkaConfig& config, std::int64_t session_id, std::int64_t id) {
  if (config.key == "message") return std::to_string(session_id) + "/" + std::to_string(id);
  return std::to_string(session_id);
}

}  // namespace ringtrace::ms2
