#include "ringtrace/common/kafka_events.hpp"

#include <spdlog/spdlog.h>

namespace ringtrace::common {

bool is_transport_error(RdKafka::ErrorCode err) {
  switch (err) {
    case RdKafka::ERR__TRANSPORT:         // connection refused, reset or closed; setup timed out
    case RdKafka::ERR__TIMED_OUT:         // requests unanswered for socket.timeout.ms: the connection is dropped
    case RdKafka::ERR__ALL_BROKERS_DOWN:  // no broker connection left
      return true;
    default:
      return false;
  }
}

void KafkaEventLogger::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      if (is_transport_error(event.err())) transport_errors_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("{}: kafka: {} {}", service_, RdKafka::err2str(event.err()), event.str());
      break;
    case RdKafka::Event::EVENT_LOG:
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
