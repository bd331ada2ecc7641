#include "ringtrace/ms3/consumer_properties.hpp"

#include <string>

namespace ringtrace::ms3 {

Properties consumer_properties(const common::KafkaConfig& config, const std::string& group_instance_id) {
  Properties props = {
      {"bootstrap.servers", config.brokers},
      {"client.id", "ringtrace-ms3"},
      {"group.id", config.group_id},
      // Delivery guarantee: nothing is committed or stored behind our back.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      // Latency (docs/performance.md): answer fetches within 10 ms instead of 500, recover fast, no Nagle delay.
      {"fetch.wait.max.ms", std::to_string(common::KafkaConfig::kFetchWaitMaxMs)},
      {"fetch.error.backoff.ms", "10"},
      {"socket.nagle.disable", "true"},
      // A topic MS2 creates after we subscribed is noticed within a second, not the default 5 minutes.
      {"topic.metadata.refresh.interval.ms", "1000"},
      // A crashed MS3 (no LeaveGroup) holds its partitions until this runs out.
      {"session.timeout.ms", std::to_string(config.session_timeout_ms)},
      // Detection (docs/guarantees.md, "Detecting a silent peer"): a fetch is always in flight, so a
      // silent broker is dropped after this (a fetch may take fetch.wait.max.ms more); the config
      // keeps it 1 s above fetch.wait.max.ms, which librdkafka requires.
      {"socket.timeout.ms", std::to_string(config.socket_timeout_ms)},
      {"socket.connection.setup.timeout.ms", std::to_string(config.connect_timeout_ms)},
  };
  if (!group_instance_id.empty()) {
    // Static membership: a restart with the same id takes the partitions back without a rebalance.
    props.emplace_back("group.instance.id", group_instance_id);
  }
  return props;
}

}  // namespace ringtrace::ms3
