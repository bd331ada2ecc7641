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

}  // namespace
}  // namespace ringtrace::ms2
