#pragma once
/// @file
/// librdkafka's own diagnostics, routed into our logs (MS2's producer and MS3's consumer), and a
/// count of the transport errors among them, which is how a lost broker shows on /metrics.

#include <atomic>
#include <cstdint>
#include <string>

#include <librdkafka/rdkafkacpp.h>

namespace ringtrace::common {

/// Whether a librdkafka log line reports a broker connection failing or timing out (facility
/// FAIL, warning or worse). librdkafka writes these lines from the broker's own thread the moment
/// it drops the connection, while the matching error event waits for the handle to be polled: a
/// consumer blocked in a synchronous commit to an unreachable coordinator would not see it before
/// the link heals.
bool is_connection_failure_log(const std::string& facility, RdKafka::Event::Severity severity);

/// Forwards librdkafka errors and log lines to spdlog: warnings and worse at warn level (a broker
/// going away must be visible), chatter at debug. Counts transport errors as they happen: each
/// connection failure from its log line (is_connection_failure_log), "every broker down" from its
/// error event.
class KafkaEventLogger : public RdKafka::EventCb {
 public:
  /// `service` prefixes every line, e.g. "ms2".
  explicit KafkaEventLogger(std::string service) : service_(std::move(service)) {}
  /// Called by librdkafka: errors from whichever thread polls the handle, log lines from its own
  /// threads as they are written (log.queue is off).
  void event_cb(RdKafka::Event& event) override;

  /// Transport errors seen so far, across every handle this logger served (a replaced
  /// producer or consumer keeps counting here); librdkafka reports an identical error of one
  /// broker at most once in 30 s. Any thread.
  [[nodiscard]] std::uint64_t transport_errors() const { return transport_errors_.load(std::memory_order_relaxed); }

 private:
  std::string service_;
  std::atomic<std::uint64_t> transport_errors_{0};
};

}  // namespace ringtrace::common
