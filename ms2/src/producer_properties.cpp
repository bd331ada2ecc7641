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
      // Detection (docs/guarantees.md, "Detecting a silent peer"): a broker that stops answering is
      // dropped after this, not after librdkafka's 60 s, and a connection that cannot be set up is
      // retried after connect_timeout_ms instead of waiting out TCP's SYN backoff.
      {"socket.timeout.ms", std::to_string(config.socket_timeout_ms)},
      {"socket.connection.setup.timeout.ms", std::to_string(config.connect_timeout_ms)},
  };
  // Acknowledgements, retries and idempotence: what the delivery mode asks of the producer.
  for (const auto& [name, value] : common::DeliveryPolicy::of(config.delivery).producer) {
    props.emplace_back(std::string(name), std::string(value));
  }
  return props;
}

}  // namespace ringtrace::ms2
