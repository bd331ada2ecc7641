/// @file
/// MS2's producer against librdkafka's mock cluster (functional, no real broker): a producer that
/// hit a fatal error is replaced, and records go through again.

#include "ringtrace/ms2/kafka_producer.hpp"

#include <atomic>
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "ringtrace/test/mock_kafka.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms2 {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTopic = "ringtrace.mock";

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
  test::MockKafka cluster(kTopic);
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

TEST(Ms2KafkaProducer, ABrokerGoneSilentIsCountedWithinTheSocketTimeout) {
  test::MockKafka cluster(kTopic);
  common::KafkaConfig config;
  config.brokers = cluster.bootstraps();
  config.topic = kTopic;
  config.socket_timeout_ms = 1500;
  Counters counters;
  KafkaProducer producer(config, counters);
  ASSERT_TRUE(delivered(producer, "1"));
  ASSERT_EQ(producer.transport_errors(), 0u);

  cluster.delay(60000);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(producer.produce({"2", "{\"id\":2}", {}}, {}), ProduceOutcome::kQueued);
  // librdkafka scans for timed-out requests once a second.
  EXPECT_TRUE(test::eventually([&] { return producer.transport_errors() > 0; }, 1500ms + 1500ms))
      << "a broker silent past kafka.socket_timeout_ms went unnoticed";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s) << "noticed before the timeout: not by its silence";
  cluster.delay(0);  // the record goes through on a new connection, so closing has nothing to wait for
}

}  // namespace
}  // namespace ringtrace::ms2
