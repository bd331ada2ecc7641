#include "ringtrace/ms3/response_classifier.hpp"

namespace ringtrace::ms3 {

std::string_view to_string(ResponseAction action) {
  switch (action) {
    case ResponseAction::kCommit: return "commit";
    case ResponseAction::kReject: return "reject";
    case ResponseAction::kRetry: return "retry";
  }
  return "unknown";
}

ResponseAction classify_response(unsigned status) {
  if (status >= 200 && status < 300) {
    return ResponseAction::kCommit;
  }
  if (status >= 400 && status < 500 && status != 401 && status != 408 && status != 429) {
    return ResponseAction::kReject;
  }
  return ResponseAction::kRetry;
}

}  // namespace ringtrace::ms3
