#include "ringtrace/ms2/record_sink.hpp"

namespace ringtrace::ms2 {

std::string_view to_string(ProduceOutcome outcome) {
  switch (outcome) {
    case ProduceOutcome::kQueued: return "queued";
    case ProduceOutcome::kQueueFull: return "queue_full";
    case ProduceOutcome::kFailed: return "failed";
  }
  return "unknown";
}

}  // namespace ringtrace::ms2
