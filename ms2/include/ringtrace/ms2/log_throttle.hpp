#pragma once
/// @file
/// A log rate limit, so a client sending garbage in a loop cannot flood the log.

#include <chrono>
#include <cstdint>
#include <mutex>

namespace ringtrace::ms2 {

/// Lets `burst` lines through per `period` and counts the ones it holds back; thread-safe.
class LogThrottle {
 public:
  /// Clock type; steady so wall-clock jumps neither open nor close the gate.
  using Clock = std::chrono::steady_clock;

  /// At most `burst` lines per `period`.
  LogThrottle(int burst, Clock::duration period) : burst_(burst), period_(period) {}

  /// True when a line may be written at `now`; `suppressed` gets how many were held back since the last one let through.
  bool allow(std::uint64_t& suppressed, Clock::time_point now = Clock::now());

 private:
  std::mutex mutex_;
  int burst_;
  Clock::duration period_;
  Clock::time_point window_start_{};
  int in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace ringtrace::ms2
