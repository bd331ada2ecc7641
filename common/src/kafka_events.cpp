#include "ringtrace/common/kafka_events.hpp"

#include <spdlog/spdlog.h>

namespace ringtrace::common {

bool is_connection_failure_log(const std::string& facility, RdKafka::Event::Severity severity) {
  return facility == "FAIL" && severity <= RdKafka::Event::EVENT_SEVERITY_WARNING;
}

void KafkaEventLogger::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      // A failed or silent connection is counted from its FAIL log line below, which comes at once;
      // only "every broker down" has no line of its own.
      if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) transport_errors_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("{}: kafka: {} {}", service_, RdKafka::err2str(event.err()), event.str());
      break;
    case RdKafka::Event::EVENT_LOG:
      if (is_connection_failure_log(event.fac(), event.severity())) {
        transport_errors_.fetch_add(1, std::memory_order_relaxed);
      }
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
        spdlog::warn("{}: kafka: {} {}", service_, event.fac(), event.str());
      } else {
        spdlog::debug("{}: kafka: {} {}", service_, event.fac(), event.str());
      }
      break;
    default:
      break;
  }
}

}  // namespace ringtrace::common
