#pragma once
/// @file
/// librdkafka's own diagnostics, routed into our logs (MS2's producer and MS3's consumer).

#include <string>

#include <librdkafka/rdkafkacpp.h>

namespace ringtrace::common {

/// Forwards librdkafka errors and log lines to spdlog: warnings and worse at warn level (a broker
/// going away must be visible), chatter at debug.
class KafkaEventLogger : public RdKafka::EventCb {
 public:
  /// `service` prefixes every line, e.g. "ms2".
  explicit KafkaEventLogger(std::string service) : service_(std::move(service)) {}
  /// Called by librdkafka from whichever thread polls the handle.
  void event_cb(RdKafka::Event& event) override;

 private:
  std::string service_;
};

}  // namespace ringtrace::common
