// MS2's topic on the replicated cluster (scripts/infra.sh up kafka --brokers 3): created with
// the configured replication factor, min.insync.replicas one fewer and unclean leader election
// off; and a factor the brokers cannot give is refused by name once the startup deadline passes.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "kafka_ring_fixture.hpp"
#include "ringtrace/ms2/counters.hpp"
#include "ringtrace/ms2/kafka_producer.hpp"
#include "ringtrace/ms2/topic_admin.hpp"
#include "ringtrace/test/backends.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace {
namespace {

common::KafkaConfig cluster_config(int replication) {
  common::KafkaConfig config;
  config.brokers = test::kafka_cluster_brokers();
  config.topic = kafka_ring::unique_name("ringtrace-cluster-it");
  config.partitions = 3;
  config.replication_factor = replication;
  config.startup_timeout_ms = 30000;
  return config;
}

/// Replica and in-sync counts of each partition of `topic`, from the brokers' metadata.
std::map<int, std::pair<int, int>> replicas(rd_kafka_t* handle, const std::string& topic) {
  std::map<int, std::pair<int, int>> out;
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> t(
      rd_kafka_topic_new(handle, topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(handle, 0, t.get(), &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    for (int p = 0; p < md->topics[i].partition_cnt; ++p) {
      const auto& part = md->topics[i].partitions[p];
      out[part.id] = {part.replica_cnt, part.isr_cnt};
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

/// The settings of `topic` as a broker describes them (empty when it answered with an error).
std::map<std::string, std::string> topic_settings(rd_kafka_t* handle, const std::string& topic) {
  std::map<std::string, std::string> out;
  auto* resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  auto* queue = rd_kafka_queue_new(handle);
  rd_kafka_DescribeConfigs(handle, &resource, 1, nullptr, queue);
  if (auto* event = rd_kafka_queue_poll(queue, 10000)) {
    size_t count = 0;
    const auto* result = rd_kafka_event_DescribeConfigs_result(event);
    const auto* const* resources = result ? rd_kafka_DescribeConfigs_result_resources(result, &count) : nullptr;
    for (size_t r = 0; r < count; ++r) {
      size_t entries = 0;
      const auto* const* configs = rd_kafka_ConfigResource_configs(resources[r], &entries);
      for (size_t e = 0; e < entries; ++e) {
        const char* value = rd_kafka_ConfigEntry_value(configs[e]);
        out[rd_kafka_ConfigEntry_name(configs[e])] = value ? value : "";
      }
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_ConfigResource_destroy(resource);
  return out;
}

TEST(KafkaCluster, Ms2CreatesItsTopicReplicatedWithOneReplicaFewerInSync) {
  spdlog::set_level(spdlog::level::warn);
  const auto config = cluster_config(3);
  ms2::Counters counters;
  ms2::KafkaProducer producer(config, counters);
  ASSERT_EQ(ms2::ensure_topic(producer.c_handle(), config), ms2::TopicOutcome::kCreated)
      << "no cluster on " << config.brokers << "? scripts/infra.sh up kafka --brokers 3";
  std::map<int, std::pair<int, int>> parts;
  ASSERT_TRUE(test::eventually([&] {
    parts = replicas(producer.c_handle(), config.topic);
    return parts.size() == 3 && std::all_of(parts.begin(), parts.end(), [](const auto& p) { return p.second.second == 3; });
  })) << "partitions: " << parts.size();
  for (const auto& [id, counts] : parts) EXPECT_EQ(counts.first, 3) << "partition " << id;
  // Each broker learns the new topic from the metadata log on its own; one that has not yet
  // answers DescribeConfigs with an error and no entries, so ask until one describes it.
  std::map<std::string, std::string> settings;
  EXPECT_TRUE(test::eventually([&] {
    settings = topic_settings(producer.c_handle(), config.topic);
    return !settings.empty();
  })) << "no broker described topic " << config.topic;
  EXPECT_EQ(settings.count("min.insync.replicas") ? settings.at("min.insync.replicas") : "absent", "2");
  EXPECT_EQ(settings.count("unclean.leader.election.enable") ? settings.at("unclean.leader.election.enable") : "absent",
            "false");
  EXPECT_EQ(ms2::ensure_topic(producer.c_handle(), config), ms2::TopicOutcome::kExisted);
}

TEST(KafkaCluster, AFactorAboveTheBrokersIsRefusedByNameAtTheDeadline) {
  spdlog::set_level(spdlog::level::off);
  auto config = cluster_config(5);
  config.startup_timeout_ms = 1500;
  ms2::Counters counters;
  ms2::KafkaProducer producer(config, counters);
  try {
    ms2::ensure_topic(producer.c_handle(), config);
    FAIL() << "a topic of 5 replicas on 3 brokers was created";
  } catch (const ms2::KafkaStartupError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("kafka.startup_timeout_ms"), std::string::npos) << what;
    EXPECT_NE(what.find("eplication factor"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace ringtrace
