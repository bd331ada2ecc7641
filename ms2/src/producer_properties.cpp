#include "ringtrace/ms2/producer_properties.hpp"

namespace ringtrace::ms2 {

Properties producer_properties(const common::KafkaConfig& config) {
  Properties props = {
      {"bootstrap.servers", config.brokers},
      {"client.id", "ringtrace-ms2"},
      // Latency (docs/performance.md): send at once instead of waiting 5 ms to batch, no Nagle delay.
      {"linger.ms", std::to_string(config.linger_ms)},
      {"socket.nagle.disable", "true"},
      // Batching without lingering: librdkafka's default (a million requests in flight) sends each
      // record in a request of its own as it comes, and the broker pays per request. With at most
      // five unanswered (the Java producer's default), records arriving meanwhile leave together;
      // a lone record (window 1) still goes at once.
      {"max.in.flight.requests.per.connection", "5"},
  };
  switch (config.delivery) {
    case common::Delivery::kAtMostOnce:
      // One leader acknowledgement and no retries: a record whose request fails is dropped, never
      // sent twice. Records queued while the broker is down still go out once it is back.
      props.insert(props.end(), {{"enable.idempotence", "false"}, {"acks", "1"}, {"message.send.max.retries", "0"}});
      break;
    case common::Delivery::kAtLeastOnce:
      // Every in-sync replica, retried until message.timeout.ms: a retry after a lost
      // acknowledgement may write the record twice (MS1 resends cover records MS2 never sent).
      props.insert(props.end(), {{"enable.idempotence", "false"}, {"acks", "all"}});
      break;
    case common::Delivery::kExactlyOnce:
      // The idempotent producer: the broker drops a retried batch it already has (sequence numbers
      // per producer id), so retries neither duplicate nor reorder records in the partition.
      props.insert(props.end(), {{"enable.idempotence", "true"}, {"acks", "all"}});
      break;
  }
  return props;
}

}  // namespace ringtrace::ms2
