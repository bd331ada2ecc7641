#pragma once
/// @file
/// Exponential backoff for reconnects and retries.

#include <algorithm>
#include <chrono>

namespace ringtrace::common {

/// Doubling delay with a ceiling; `reset()` after a success so the next failure starts small.
class Backoff {
 public:
  /// Starts at `initial`, never exceeds `max`.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(std::max(initial, std::chrono::milliseconds(1))), max_(std::max(max, initial_)), next_(initial_) {}

  /// The delay to wait now; the following call returns twice as much, up to the ceiling.
  std::chrono::milliseconds next() {
    auto current = next_;
    next_ = std::min(next_ * 2, max_);
    return current;
  }

  /// Back to the initial delay.
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
};

}  // namespace ringtrace::common
