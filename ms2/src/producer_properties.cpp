#include "ringtrace/ms2/producer_properties.hpp"

namespace ringtrace::ms2 {

Properties producer_properties(const common::KafkaConfig& config) {
  return {
      {"bootstrap.servers", config.brokers},
      {"client.id", "ringtrace-ms2"},
      // Delivery guarantee: no duplicates from retries, acknowledged by all in-sync replicas.
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // Latency (INFRA.md): send at once instead of waiting 5 ms to batch, no Nagle delay.
      {"linger.ms", "0"},
      {"socket.nagle.disable", "true"},
  };
}

}  // namespace ringtrace::ms2
