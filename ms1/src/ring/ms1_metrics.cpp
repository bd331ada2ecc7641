#include "ringtrace/ms1/ring/ms1_metrics.hpp"

#include <limits>
#include <string>
#include <utility>

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
  m.clock_reports_rejected = &r.counter("ringtrace_clock_reports_rejected_total",
                                        "Ringtrace-Clock-Offset headers from MS3 that did not parse, ignored");
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
  if (sources.clocks == nullptr) return;
  const ClockBook& book = *sources.clocks;
  const std::string offset_help = "Peer clock minus MS1's, as estimated by the ring (NaN while there is no recent estimate)";
  const std::string uncertainty_help = "The offset estimate is within this of the truth";
  const std::string samples_help = "Clock exchanges taken: MS2 probes answered, MS3 reports received";
  for (const auto& [clock, name] : {std::pair{common::Hop::kMs2, "ms2"}, std::pair{common::Hop::kMs3, "ms3"}}) {
    const auto hop = clock;  // a copy: a lambda may not capture a structured binding in C++20
    const auto live = [&book, hop](auto field) {
      return [&book, hop, field] {
        const auto record = book.live(hop, common::now_utc());
        return record ? static_cast<double>(field(*record)) / 1e6 : std::numeric_limits<double>::quiet_NaN();
      };
    };
    r.gauge_fn("ringtrace_clock_offset_seconds", offset_help, live([](const ClockRecord& c) { return c.offset_us; }),
               {{"clock", name}});
    r.gauge_fn("ringtrace_clock_uncertainty_seconds", uncertainty_help,
               live([](const ClockRecord& c) { return c.uncertainty_us; }), {{"clock", name}});
  }
  r.counter_fn("ringtrace_clock_samples_total", samples_help,
               [&book] { return static_cast<double>(book.ms2_samples()); }, {{"clock", "ms2"}});
  r.counter_fn("ringtrace_clock_samples_total", samples_help,
               [&book] { return static_cast<double>(book.ms3_reports()); }, {{"clock", "ms3"}});
  r.counter_fn("ringtrace_clock_samples_rejected_total",
               "MS2 clock exchanges refused because their stamps contradict causality (a clock step mid-exchange)",
               [&book] { return static_cast<double>(book.ms2_rejected()); });
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
