#include "ringtrace/ms3/consumer_properties.hpp"

#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

namespace ringtrace::ms3 {
namespace {

std::map<std::string, std::string> as_map(const Properties& properties) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : properties) {
    EXPECT_TRUE(out.emplace(k, v).second) << "duplicate property " << k;
  }
  return out;
}

TEST(ConsumerProperties, ManualCommitsAndLowLatencyFetch) {
  common::KafkaConfig config;
  config.brokers = "kafka:9092";
  config.group_id = "g-1";
  auto props = as_map(consumer_properties(config));
  EXPECT_EQ(props["bootstrap.servers"], "kafka:9092");
  EXPECT_EQ(props["group.id"], "g-1");
  EXPECT_EQ(props["enable.auto.commit"], "false");
  EXPECT_EQ(props["enable.auto.offset.store"], "false");
  EXPECT_EQ(props["auto.offset.reset"], "earliest");
  EXPECT_EQ(props["socket.nagle.disable"], "true");
  ASSERT_TRUE(props.count("fetch.wait.max.ms"));
  const int wait_ms = std::stoi(props["fetch.wait.max.ms"]);
  EXPECT_GE(wait_ms, 1);
  EXPECT_LE(wait_ms, 50);
  ASSERT_TRUE(props.count("fetch.error.backoff.ms"));
  EXPECT_LE(std::stoi(props["fetch.error.backoff.ms"]), 100);
}

TEST(ConsumerProperties, DynamicMembershipUnlessAnInstanceIdIsGiven) {
  common::KafkaConfig config;
  config.session_timeout_ms = 7000;
  auto dynamic = as_map(consumer_properties(config));
  EXPECT_EQ(dynamic.count("group.instance.id"), 0U);
  EXPECT_EQ(dynamic["session.timeout.ms"], "7000");
  auto fixed = as_map(consumer_properties(config, "ms3-a"));
  EXPECT_EQ(fixed["group.instance.id"], "ms3-a");
}

TEST(ConsumerProperties, LibrdkafkaAcceptsEveryProperty) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [name, value] : consumer_properties(common::KafkaConfig{}, "ms3-a")) {
    EXPECT_EQ(conf->set(name, value, error), RdKafka::Conf::CONF_OK) << name << ": " << error;
  }
}

}  // namespace
}  // namespace ringtrace::ms3
