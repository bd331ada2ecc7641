#pragma once
/// @file
/// The one way a test waits for an effect: poll with a deadline, never a fixed sleep.

#include <chrono>
#include <thread>

namespace ringtrace::test {

/// How long a test waits for an effect before calling it missing (generous: CI machines are slow).
inline constexpr std::chrono::milliseconds kDefaultDeadline{10000};

/// Polls `done` every `poll` until it holds or `deadline` passes; returns its last answer, so a
/// condition that became true at the deadline still counts.
template <typename Predicate>
bool eventually(Predicate&& done, std::chrono::milliseconds deadline = kDefaultDeadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds{2}) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return done();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace ringtrace::test
