#include "ringtrace/common/hop_step.hpp"

#include <utility>

namespace ringtrace::common {

std::string_view to_string(HopOutcome outcome) {
  switch (outcome) {
    case HopOutcome::kOk: return "ok";
    case HopOutcome::kNotText: return "not_text";
    case HopOutcome::kUnsupportedMediaType: return "unsupported_media_type";
    case HopOutcome::kMalformed: return "malformed";
    case HopOutcome::kUnstorable: return "unstorable";
    case HopOutcome::kBadStamps: return "bad_stamps";
  }
  return "unknown";
}

HopResult refuse(HopOutcome outcome, std::string reason) {
  HopResult result;
  result.outcome = outcome;
  result.reason = std::move(reason);
  return result;
}

HopResult run_hop(Hop hop, std::string_view body, Naming naming, Timestamp now, const HopOptions& options) {
  HopResult result;
  auto decoded = decode(body, naming, options.traceparent_in_body ? &result.traceparent : nullptr);
  if (!decoded) {  // the trace context read before the error stays: the refusal's span joins its trace
    result.outcome = HopOutcome::kMalformed;
    result.reason = std::move(decoded.error);
    return result;
  }
  result.message = *decoded.message;
  if (options.check != nullptr) {
    if (auto why = options.check(result.message, naming); !why.empty()) {
      result.outcome = HopOutcome::kUnstorable;
      result.reason = std::move(why);
      return result;
    }
  }
  if (const auto stamped = stamp(result.message, hop, now); stamped != StampResult::kOk) {
    result.outcome = HopOutcome::kBadStamps;
    result.reason = std::string(to_string(stamped));
    return result;
  }
  if (hop != Hop::kEnd) result.payload = encode(result.message, naming);
  return result;
}

}  // namespace ringtrace::common
