#include "ringtrace/ms3/consumer_properties.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ringtrace/common/config.hpp"

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

TEST(ConsumerProperties, ASilentBrokerIsDroppedWithinTheSocketTimeout) {
  common::KafkaConfig config;
  auto props = as_map(consumer_properties(config));
  EXPECT_EQ(props["socket.timeout.ms"], "10000") << "librdkafka's own 60 s would hide a partition for a minute";
  EXPECT_EQ(props["socket.connection.setup.timeout.ms"], "5000");
  EXPECT_EQ(props["fetch.wait.max.ms"], std::to_string(common::KafkaConfig::kFetchWaitMaxMs));
  config.socket_timeout_ms = 2500;
  config.connect_timeout_ms = 1500;
  props = as_map(consumer_properties(config));
  EXPECT_EQ(props["socket.timeout.ms"], "2500");
  EXPECT_EQ(props["socket.connection.setup.timeout.ms"], "1500");
}

namespace {

/// librdkafka's configuration warnings (CONFWARN) at creating a consumer from `props`.
std::vector<std::string> config_warnings(const Properties& props) {
  struct Collector : RdKafka::EventCb {
    std::vector<std::string> lines;
    void event_cb(RdKafka::Event& event) override {
      if (event.type() == RdKafka::Event::EVENT_LOG && event.fac() == "CONFWARN") lines.push_back(event.str());
    }
  } collector;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [name, value] : props) EXPECT_EQ(conf->set(name, value, error), RdKafka::Conf::CONF_OK) << error;
  EXPECT_EQ(conf->set("event_cb", &collector, error), RdKafka::Conf::CONF_OK) << error;
  {
    // Warnings are logged while the handle is created; the event queue is served by close().
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    EXPECT_NE(consumer, nullptr) << error;
    if (consumer) consumer->close();
  }
  return collector.lines;
}

}  // namespace

TEST(ConsumerProperties, TheSmallestSocketTimeoutTheConfigTakesSuitsTheFetchWait) {
  // The config's lower bound for kafka.socket_timeout_ms is where librdkafka stops warning that
  // fetches would time out the requests behind them.
  const auto config = common::parse_config("kafka: {socket_timeout_ms: 1010, brokers: '127.0.0.1:1'}", {}).kafka;
  EXPECT_TRUE(config_warnings(consumer_properties(config)).empty());
  // The check can see the warning: 1 ms less draws it.
  auto below = consumer_properties(config);
  for (auto& [name, value] : below) {
    if (name == "socket.timeout.ms") value = "1009";
  }
  const auto warnings = config_warnings(below);
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_NE(warnings.front().find("fetch.wait.max.ms"), std::string::npos) << warnings.front();
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
