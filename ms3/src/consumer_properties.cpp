#include "ringtrace/ms3/consumer_properties.hpp"

namespace ringtrace::ms3 {

Properties consumer_properties(const common::KafkaConfig& config) {
  return {
      {"bootstrap.servers", config.brokers},
      {"client.id", "ringtrace-ms3"},
      {"group.id", config.group_id},
      // Delivery guarantee: nothing is committed or stored behind our back.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      // Latency (INFRA.md): answer fetches within 10 ms instead of 500, recover fast, no Nagle delay.
      {"fetch.wait.max.ms", "10"},
      {"fetch.error.backoff.ms", "10"},
      {"socket.nagle.disable", "true"},
      // A topic MS2 creates after we subscribed is noticed within a second, not the default 5 minutes.
      {"topic.metadata.refresh.interval.ms", "1000"},
  };
}

}  // namespace ringtrace::ms3
