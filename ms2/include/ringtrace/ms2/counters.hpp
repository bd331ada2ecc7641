#pragma once
/// @file
/// MS2's counters, shared by the WebSocket sessions and the producer's delivery reports.

#include <atomic>
#include <cstdint>

#include "ringtrace/common/metrics.hpp"

namespace ringtrace::ms2 {

/// Totals since startup; atomics because sessions (io thread) and delivery reports (poll thread) both write.
struct Counters {
  std::atomic<std::uint64_t> frames_received{0};    ///< every data frame read, good or bad
  std::atomic<std::uint64_t> frames_rejected{0};    ///< frames refused before producing
  std::atomic<std::uint64_t> produced{0};           ///< records the broker acknowledged
  std::atomic<std::uint64_t> delivery_failures{0};  ///< records that could not be queued or delivered
  std::atomic<std::uint64_t> upgrades_unauthorized{0};  ///< upgrades refused 401 (no or a wrong security.token)
  /// Produce call to broker acknowledgement, in seconds; owned by the service's metrics registry,
  /// null when nothing is measured (unit tests).
  common::Histogram* delivery_latency = nullptr;
};

}  // namespace ringtrace::ms2
