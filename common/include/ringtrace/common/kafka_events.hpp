#pragma once
/// @file
/// librdkafka's own diagnostics, routed into our logs (MS2's producer and MS3's consumer), and a
/// count of the transport errors among them, which is how a lost broker shows on /metrics.

#include <atomic>
#include <cstdint>
#include <string>

#include <librdkafka/rdkafkacpp.h>

namespace ringtrace::common {

/// Whether `err` means a broker connection failed or went silent (disconnected, a request timed
/// out after `kafka.socket_timeout_ms`, every broker down), rather than a protocol or local error.
bool is_transport_error(RdKafka::ErrorCode err);

/// Forwards librdkafka errors and log lines to spdlog: warnings and worse at warn level (a broker
/// going away must be visible), chatter at debug. Counts transport errors (is_transport_error).
class KafkaEventLogger : public RdKafka::EventCb {
 public:
  /// `service` prefixes every line, e.g. "ms2".
  explicit KafkaEventLogger(std::string service) : service_(std::move(service)) {}
  /// Called by librdkafka from whichever thread polls the handle.
  void event_cb(RdKafka::Event& event) override;

  /// Transport errors reported so far, across every handle this logger served (a replaced
  /// producer or consumer keeps counting here); librdkafka reports an identical error of one
  /// broker at most once in 30 s. Any thread.
  [[nodiscard]] std::uint64_t transport_errors() const { return transport_errors_.load(std::memory_order_relaxed); }

 private:
  std::string service_;
  std::atomic<std::uint64_t> transport_errors_{0};
};

}  // namespace ringtrace::common
