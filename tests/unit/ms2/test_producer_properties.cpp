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

TEST(ProducerProperties, DeliveryGuaranteeAndLatencySettings) {
  common::KafkaConfig config;
  config.brokers = "10.0.0.1:9093,10.0.0.2:9093";
  auto props = as_map(producer_properties(config));
  EXPECT_EQ(props["bootstrap.servers"], "10.0.0.1:9093,10.0.0.2:9093");
  EXPECT_EQ(props["enable.idempotence"], "true");
  EXPECT_EQ(props["acks"], "all");
  EXPECT_EQ(props["linger.ms"], "0");
  EXPECT_EQ(props["socket.nagle.disable"], "true");
}

TEST(ProducerProperties, LibrdkafkaAcceptsEveryProperty) {
  // A typo in a property name would only show at startup otherwise.
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [name, value] : producer_properties(common::KafkaConfig{})) {
    EXPECT_EQ(conf->set(name, value, error), RdKafka::Conf::CONF_OK) << name << ": " << error;
  }
}

}  // namespace
}  // namespace ringtrace::ms2
