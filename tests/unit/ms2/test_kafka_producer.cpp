/// @file
/// MS2's producer against librdkafka's mock cluster (functional, no real broker): a producer that
/// hit a fatal error is replaced, and records go through again.

#include "ringtrace/ms2/kafka_producer.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms2 {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTopic = "ringtrace.mock";

/// A one-broker mock cluster with kTopic on it, owned by a client handle that only hosts it.
class MockCluster {
 public:
  MockCluster() {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);  // the host connects nowhere: no warning
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (!host_) throw std::runtime_error(error);
    cluster_ = rd_kafka_mock_cluster_new(host_, 1);
    if (!cluster_) throw std::runtime_error("no mock cluster");
    rd_kafka_mock_topic_create(cluster_, kTopic, 1, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

/// Produces one record and waits for its delivery report: true when the broker acknowledged it.
bool delivered(KafkaProducer& producer, const std::string& key) {
  std::atomic<int> outcome{0};  // 0 waiting, 1 acknowledged, 2 failed
  const auto queued = producer.produce({key, "{\"id\":" + key + "}", {}},
                                       [&](const DeliveryReport& report) { outcome = report.ok ? 1 : 2; });
  if (queued != ProduceOutcome::kQueued) return false;
  test::eventually([&] { return outcome.load() != 0; }, 10s);
  return outcome.load() == 1;
}

TEST(Ms2KafkaProducer, AProducerThatHitAFatalErrorIsReplaced) {
  MockCluster cluster;
  common::KafkaConfig config;
  config.brokers = cluster.bootstraps();
  config.topic = kTopic;
  config.delivery = common::Delivery::kExactlyOnce;  // the idempotent producer, the one that turns fatal
  Counters counters;
  KafkaProducer producer(config, counters);
  ASSERT_TRUE(delivered(producer, "1"));

  // What a rewound sequence number at a leader change does to an idempotent producer.
  rd_kafka_test_fatal_error(producer.c_handle(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "test: sequence rewound");
  ASSERT_TRUE(test::eventually([&] { return producer.restarts() == 1; }, 10s)) << "the broken producer was kept";
  EXPECT_TRUE(delivered(producer, "2")) << "records go through the new producer";
  EXPECT_EQ(producer.restarts(), 1u);
}

}  // namespace
}  // namespace ringtrace::ms2
