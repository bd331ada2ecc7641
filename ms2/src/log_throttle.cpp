#include "ringtrace/ms2/log_throttle.hpp"

namespace ringtrace::ms2 {

bool LogThrottle::allow(std::uint64_t& suppressed, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    suppressed = 0;
    return false;
  }
  ++in_window_;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace ringtrace::ms2
