#include "ringtrace/ms2/producer_properties.hpp"

#include <map>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

namespace ringtrace::ms2 {
namespace {

std::map<std::string, std::string> as_map(const Properties& properties) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : properties) {
    EXPECT_TRUE(out.emplace(k, v).second) << "duplicate property " << k;
  }
  return out;
}

std::map<std::string, std::string> for_mode(common::Delivery delivery) {
  common::KafkaConfig config;
  config.delivery = delivery;
  return as_map(producer_properties(config));
}

TEST(ProducerProperties, LatencySettings) {
  common::KafkaConfig config;
  config.brokers = "10.0.0.1:9093,10.0.0.2:9093";
  auto props = as_map(producer_properties(config));
  EXPECT_EQ(props["bootstrap.servers"], "10.0.0.1:9093,10.0.0.2:9093");
  EXPECT_EQ(props["linger.ms"], "0");
  EXPECT_EQ(props["socket.nagle.disable"], "true");
  EXPECT_EQ(props["max.in.flight.requests.per.connection"], "5") << "bounded, so records batch under load";
  config.linger_ms = 5;
  EXPECT_EQ(as_map(producer_properties(config))["linger.ms"], "5");
}

TEST(ProducerProperties, ASilentBrokerIsDroppedWithinTheSocketTimeout) {
  common::KafkaConfig config;
  auto props = as_map(producer_properties(config));
  EXPECT_EQ(props["socket.timeout.ms"], "10000") << "librdkafka's own 60 s would hide a partition for a minute";
  EXPECT_EQ(props["socket.connection.setup.timeout.ms"], "5000");
  config.socket_timeout_ms = 2500;
  config.connect_timeout_ms = 1500;
  props = as_map(producer_properties(config));
  EXPECT_EQ(props["socket.timeout.ms"], "2500");
  EXPECT_EQ(props["socket.connection.setup.timeout.ms"], "1500");
}

TEST(ProducerProperties, AtMostOnceNeverRetries) {
  auto props = for_mode(common::Delivery::kAtMostOnce);
  EXPECT_EQ(props["enable.idempotence"], "false");
  EXPECT_EQ(props["acks"], "1");
  EXPECT_EQ(props["message.send.max.retries"], "0");
}

TEST(ProducerProperties, AtLeastOnceWaitsForAllReplicasAndRetries) {
  auto props = for_mode(common::Delivery::kAtLeastOnce);
  EXPECT_EQ(props["enable.idempotence"], "false");
  EXPECT_EQ(props["acks"], "all");
  EXPECT_EQ(props.count("message.send.max.retries"), 0U) << "librdkafka's default retries without end";
}

TEST(ProducerProperties, ExactlyOnceIsIdempotent) {
  auto props = for_mode(common::Delivery::kExactlyOnce);
  EXPECT_EQ(props["enable.idempotence"], "true");
  EXPECT_EQ(props["acks"], "all");
}

TEST(ProducerProperties, LibrdkafkaAcceptsEveryPropertyInEveryMode) {
  // A typo in a property name, or a combination librdkafka refuses, would only show at startup otherwise.
  for (const auto delivery : {common::Delivery::kAtMostOnce, common::Delivery::kAtLeastOnce, common::Delivery::kExactlyOnce}) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    common::KafkaConfig config;
    config.delivery = delivery;
    for (const auto& [name, value] : producer_properties(config)) {
      EXPECT_EQ(conf->set(name, value, error), RdKafka::Conf::CONF_OK) << name << ": " << error;
    }
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
    EXPECT_NE(producer, nullptr) << common::to_string(delivery) << ": " << error;
  }
}

}  // namespace
}  // namespace ringtrace::ms2
