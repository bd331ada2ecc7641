#pragma once
/// @file
/// MS3's counters.

#include <atomic>
#include <cstdint>

#include "ringtrace/common/metrics.hpp"

namespace ringtrace::ms3 {

/// Totals since startup; atomics so another thread (tests, the shutdown summary) may read them live.
struct Counters {
  std::atomic<std::uint64_t> consumed{0};     ///< records taken from Kafka
  std::atomic<std::uint64_t> forwarded{0};    ///< records MS1 answered 2xx for
  std::atomic<std::uint64_t> retries{0};      ///< POSTs repeated after a transient failure
  std::atomic<std::uint64_t> rejected{0};     ///< records MS1 refused for good (4xx), committed and passed
  std::atomic<std::uint64_t> undecodable{0};  ///< records that are not a valid message, committed and passed
  std::atomic<std::uint64_t> dropped{0};      ///< at-most-once: committed, then the one POST failed; lost by design
  /// Duration of each POST to MS1 that got an answer, in seconds; owned by the service's metrics
  /// registry, null when nothing is measured (unit tests).
  common::Histogram* post_latency = nullptr;
};

}  // namespace ringtrace::ms3
