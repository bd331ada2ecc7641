#include "ringtrace/common/kafka_events.hpp"

#include <spdlog/spdlog.h>

namespace ringtrace::common {

void KafkaEventLogger::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
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
