#include "ringtrace/ms1/ring/ms1_metrics.hpp"

#include <string>

namespace ringtrace::ms1 {

Ms1Metrics register_metrics(common::MetricsRegistry& r, const common::tracing::Tracer& tracer) {
  Ms1Metrics m;
  m.sent = &r.counter("ringtrace_messages_sent_total", "Messages sent to MS2 over the WebSocket, resends included");
  const std::string store_help = "POST /store requests by outcome";
  m.stored = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "stored"}});
  m.duplicate = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "duplicate"}});
  m.rejected = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "rejected"}});
  m.unavailable = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "unavailable"}});
  m.unauthorized = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "unauthorized"}});
  m.unknown_session = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "unknown_session"}});
  m.unknown_id = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "unknown_id"}});
  m.sessions = &r.counter("ringtrace_sessions_finished_total", "Sessions ended and recorded in the database");
  m.resent = &r.counter("ringtrace_messages_resent_total",
                        "Messages sent again because the MS2 link dropped or they were not back in time (at least once)");
  m.lost = &r.counter("ringtrace_messages_lost_total",
                      "Messages finished sessions gave up on: not back by the drain timeout, or dropped (at most once)");
  // The four stamps give three hops and the cycle; MS1 sees them all once a message is back.
  const std::string hop_help = "Time between two stamps of a stored message (hop) or its first and last (cycle)";
  const std::array<const char*, 4> hops = {"ms1_to_ms2", "ms2_to_ms3", "ms3_to_ms1", "cycle"};
  for (std::size_t i = 0; i < hops.size(); ++i) {
    m.hops[i] = &r.histogram("ringtrace_hop_latency_seconds", hop_help, common::latency_buckets(), {{"hop", hops[i]}});
  }
  common::tracing::register_metrics(tracer, r);
  return m;
}

void register_gauges(common::MetricsRegistry& r, MetricSources sources) {
  r.gauge_fn("ringtrace_messages_in_flight", "Messages sent in the running session and not stored yet",
             std::move(sources.in_flight));
  r.gauge_fn("ringtrace_ms2_connected", "1 while the WebSocket link to MS2 is up", std::move(sources.ms2_connected));
  r.counter_fn("ringtrace_ms2_connects_total", "WebSocket handshakes with MS2; more than 1 means reconnects",
               std::move(sources.ms2_connects));
  r.gauge_fn("ringtrace_database_connected", "1 while the database connection is up",
             std::move(sources.database_connected));
  r.counter_fn("ringtrace_database_connects_total", "Database connections opened; more than 1 means reconnects",
               std::move(sources.database_connects));
  r.gauge_fn("ringtrace_database_queue_depth", "Jobs waiting for the database writer thread",
             std::move(sources.database_queue_depth));
}

void observe_hops(const Ms1Metrics& metrics, const common::Message& message) {
  const auto between = [&](common::Hop from, common::Hop to) {
    return std::chrono::duration<double>(*message.at(to) - *message.at(from)).count();
  };
  using common::Hop;
  metrics.hops[0]->observe(between(Hop::kMs1, Hop::kMs2));
  metrics.hops[1]->observe(between(Hop::kMs2, Hop::kMs3));
  metrics.hops[2]->observe(between(Hop::kMs3, Hop::kEnd));
  metrics.hops[3]->observe(between(Hop::kMs1, Hop::kEnd));
}

}  // namespace ringtrace::ms1
