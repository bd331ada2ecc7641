#include "ringtrace/ms3/record_processor.hpp"

#include <utility>

namespace ringtrace::ms3 {

std::string_view to_string(RecordOutcome outcome) {
  switch (outcome) {
    case RecordOutcome::kOk: return "ok";
    case RecordOutcome::kUndecodable: return "undecodable";
    case RecordOutcome::kBadStamps: return "bad_stamps";
  }
  return "unknown";
}

RecordResult process_record(std::string_view payload, common::Naming naming, common::Timestamp now) {
  RecordResult result;
  auto decoded = common::decode(payload, naming);
  if (!decoded) {
    result.outcome = RecordOutcome::kUndecodable;
    result.reason = std::move(decoded.error);
    return result;
  }
  auto& message = *decoded.message;
  result.session_id = message.session_id;
  result.id = message.id;
  if (auto stamped = common::stamp(message, common::Hop::kMs3, now); stamped != common::StampResult::kOk) {
    result.outcome = RecordOutcome::kBadStamps;
    result.reason = std::string(common::to_string(stamped));
    return result;
  }
  result.body = common::encode(message, naming);
  return result;
}

}  // namespace ringtrace::ms3
