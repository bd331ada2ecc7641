#pragma once
/// @file
/// What MS1 exposes on /metrics, registered in one place so the names and their order stay put.

#include <array>
#include <functional>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/ring/clock_book.hpp"

namespace ringtrace::ms1 {

/// The series MS1 updates itself; all updated on the event loop.
struct Ms1Metrics {
  common::Counter* sent = nullptr;         ///< frames handed to the WebSocket, resends included
  common::Counter* stored = nullptr;       ///< /store requests that added a row
  common::Counter* duplicate = nullptr;    ///< /store requests for a row already there
  common::Counter* rejected = nullptr;     ///< /store requests refused (4xx, or the database refused)
  common::Counter* unavailable = nullptr;  ///< /store requests answered 503 (database down or busy)
  common::Counter* unauthorized = nullptr; ///< /store requests without the shared token, or with a wrong one (401)
  common::Counter* unknown_session = nullptr;  ///< /store requests for a session MS1 never started (422)
  common::Counter* unknown_id = nullptr;   ///< /store requests for an id the session never sent (422)
  common::Counter* sessions = nullptr;     ///< sessions finished and recorded
  common::Counter* resent = nullptr;       ///< messages sent again after a link drop or timeout (at least once)
  common::Counter* lost = nullptr;         ///< messages given up by finished sessions
  common::Counter* clock_reports_rejected = nullptr;  ///< malformed Ringtrace-Clock-Offset headers from MS3, ignored
  std::array<common::Histogram*, 4> hops{};  ///< ws, kafka, http hops and the whole cycle
};

/// The values read at scrape time, from the parts that keep them.
struct MetricSources {
  std::function<double()> in_flight;            ///< messages of the running session not stored yet
  std::function<double()> ms2_connected;        ///< 1 while the MS2 link is up
  std::function<double()> ms2_connects;         ///< handshakes with MS2
  std::function<double()> database_connected;   ///< 1 while the database connection is up
  std::function<double()> database_connects;    ///< database connections opened
  std::function<double()> database_queue_depth; ///< jobs waiting for the writer thread
  const ClockBook* clocks = nullptr;  ///< the peer clock estimates (read on the event loop, as /metrics is served); none: no clock series
};

/// Registers the series MS1 updates itself into `registry` (and the tracer's own), in /metrics
/// order; the parts that update them are built after, so they are handed these.
Ms1Metrics register_metrics(common::MetricsRegistry& registry, const common::tracing::Tracer& tracer);

/// Registers the series read at scrape time from the parts that keep them, once those exist.
void register_gauges(common::MetricsRegistry& registry, MetricSources sources);

/// Records the three hops and the cycle of a freshly stored message.
void observe_hops(const Ms1Metrics& metrics, const common::Message& message);

}  // namespace ringtrace::ms1
