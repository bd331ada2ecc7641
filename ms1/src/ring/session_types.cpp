#include "ringtrace/ms1/ring/session_types.hpp"

namespace ringtrace::ms1 {

std::string_view to_string(SessionState state) {
  switch (state) {
    case SessionState::kIdle: return "idle";
    case SessionState::kStarting: return "starting";
    case SessionState::kRunning: return "running";
    case SessionState::kDraining: return "draining";
    case SessionState::kFinishing: return "finishing";
  }
  return "unknown";
}

std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kDuration: return "duration";
    case StopReason::kStopped: return "stop";
    case StopReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

}  // namespace ringtrace::ms1
