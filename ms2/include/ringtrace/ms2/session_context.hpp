#pragma once
/// @file
/// What every MS2 session needs from the service that outlives it.

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms2/counters.hpp"
#include "ringtrace/ms2/log_throttle.hpp"
#include "ringtrace/ms2/record_sink.hpp"
#include "ringtrace/ms2/session_registry.hpp"

namespace ringtrace::ms2 {

/// References owned by Ms2Service; sessions hold this by reference, so the service outlives its io_context's handlers.
struct SessionContext {
  const common::Config& config;  ///< ms2 section (path, frame limit) and message naming
  RecordSink& sink;              ///< where accepted frames go (the Kafka producer, or a fake in tests)
  Counters& counters;            ///< service totals
  SessionRegistry& registry;     ///< for closing sessions at shutdown
  LogThrottle& reject_log;       ///< rate limit for "rejected frame" lines
  common::tracing::Tracer& tracer;  ///< spans for every frame received and every record produced
};

}  // namespace ringtrace::ms2
