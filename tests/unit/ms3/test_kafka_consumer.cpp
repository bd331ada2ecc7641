/// @file
/// MS3's consumer against librdkafka's mock cluster (functional, no real broker): a commit the
/// broker refuses is made again once the consumer is idle, and the lag tells the truth meanwhile.
/// The mock's group waits 3 s before its first assignment, hence ~4 s a test.

#include "ringtrace/ms3/kafka_consumer.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "ringtrace/test/mock_kafka.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms3 {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTopic = "ringtrace.mock";
constexpr const char* kGroup = "ringtrace-mock-ms3";
constexpr int kRecords = 5;

std::unique_ptr<RdKafka::Conf> conf_for(const std::string& brokers) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", brokers, error);
  return conf;
}

void produce(const std::string& brokers, int count) {
  auto conf = conf_for(brokers);
  std::string error;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  ASSERT_TRUE(producer) << error;
  for (int i = 0; i < count; ++i) {
    std::string payload = "record " + std::to_string(i);
    ASSERT_EQ(producer->produce(kTopic, 0, RdKafka::Producer::RK_MSG_COPY, payload.data(), payload.size(), nullptr, 0,
                                0, nullptr),
              RdKafka::ERR_NO_ERROR);
  }
  ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);
}

/// The group's committed offset of partition 0 as the broker holds it, asked without joining.
std::int64_t committed_offset(const std::string& brokers) {
  auto conf = conf_for(brokers);
  std::string error;
  conf->set("group.id", kGroup, error);
  std::unique_ptr<RdKafka::KafkaConsumer> checker(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!checker) return -1001;
  std::vector<RdKafka::TopicPartition*> partitions{RdKafka::TopicPartition::create(kTopic, 0)};
  std::int64_t offset = -1001;
  if (checker->committed(partitions, 5000) == RdKafka::ERR_NO_ERROR) offset = partitions.front()->offset();
  RdKafka::TopicPartition::destroy(partitions);
  checker->close();
  return offset;
}

common::KafkaConfig consumer_config(const std::string& brokers) {
  common::KafkaConfig config;
  config.brokers = brokers;
  config.topic = kTopic;
  config.group_id = kGroup;
  return config;
}

/// Pointers to `records`, as commit() takes them.
std::vector<const RdKafka::Message*> views(const std::vector<std::unique_ptr<RdKafka::Message>>& records) {
  std::vector<const RdKafka::Message*> done;
  for (const auto& record : records) done.push_back(record.get());
  return done;
}

/// Consumes until `count` records came (copies kept alive for commit()), or the deadline.
std::vector<std::unique_ptr<RdKafka::Message>> consume(KafkaConsumer& consumer, int count) {
  std::vector<std::unique_ptr<RdKafka::Message>> records;
  test::eventually(
      [&] {
        if (auto record = consumer.consume(100ms)) records.push_back(std::move(record));
        return records.size() >= static_cast<std::size_t>(count);
      },
      30s, 0ms);
  return records;
}

TEST(Ms3KafkaConsumer, ARefusedCommitIsMadeAgainOnceIdle) {
  test::MockKafka cluster(kTopic);
  produce(cluster.bootstraps(), kRecords);
  KafkaConsumer consumer(consumer_config(cluster.bootstraps()));
  auto records = consume(consumer, kRecords);
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kRecords));

  // Refused for good (librdkafka does not retry it): without recommit() the group would hold
  // nothing for ever, since no record comes after these to carry the offset forward.
  cluster.refuse(test::MockKafka::kOffsetCommit, 1, RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
  consumer.commit(views(records));

  // The refusal comes back through consume(); the lag counts what the broker does not hold.
  ASSERT_TRUE(test::eventually([&] {
    consumer.consume(10ms);
    return consumer.commit_lag() == kRecords;
  }, 10s, 0ms)) << "lag " << consumer.commit_lag();
  EXPECT_EQ(committed_offset(cluster.bootstraps()), RdKafka::Topic::OFFSET_INVALID);
  EXPECT_FALSE(consumer.recommit()) << "the offset is behind, so recommit() has work";

  // Idle, as MS3's loop is between records: the commit is made again and acknowledged.
  ASSERT_TRUE(test::eventually([&] {
    consumer.consume(100ms);
    return consumer.recommit() && consumer.commit_lag() == 0;
  }, 10s, 0ms)) << "lag " << consumer.commit_lag() << ", recommits " << consumer.recommits();
  EXPECT_EQ(consumer.recommits(), 1u) << "one refusal, one recommit";
  EXPECT_EQ(committed_offset(cluster.bootstraps()), kRecords);
}

TEST(Ms3KafkaConsumer, AnAcknowledgedCommitIsNotMadeAgain) {
  test::MockKafka cluster(kTopic);
  produce(cluster.bootstraps(), kRecords);
  KafkaConsumer consumer(consumer_config(cluster.bootstraps()));
  auto records = consume(consumer, kRecords);
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kRecords));
  consumer.commit(views(records));

  ASSERT_TRUE(test::eventually([&] {
    consumer.consume(10ms);
    return consumer.recommit();
  }, 10s, 0ms));
  EXPECT_EQ(consumer.commit_lag(), 0);
  EXPECT_EQ(consumer.recommits(), 0u);
  EXPECT_EQ(committed_offset(cluster.bootstraps()), kRecords);
}

TEST(Ms3KafkaConsumer, ABrokerGoneSilentIsCountedWithinTheSocketTimeout) {
  test::MockKafka cluster(kTopic);
  auto config = consumer_config(cluster.bootstraps());
  config.socket_timeout_ms = 1500;
  KafkaConsumer consumer(config);
  ASSERT_TRUE(test::eventually([&] {
    consumer.consume(100ms);
    return consumer.assigned_partitions() > 0;
  }, 30s, 0ms)) << "never joined the group";
  ASSERT_EQ(consumer.transport_errors(), 0u);

  cluster.delay(60000);  // the fetch in flight goes unanswered
  const auto start = std::chrono::steady_clock::now();
  // A fetch may take fetch.wait.max.ms on top, and librdkafka scans for timed-out requests once a second.
  EXPECT_TRUE(test::eventually([&] {
    consumer.consume(100ms);
    return consumer.transport_errors() > 0;
  }, 1500ms + 1500ms, 0ms)) << "a broker silent past kafka.socket_timeout_ms went unnoticed";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s) << "noticed before the timeout: not by its silence";
  cluster.delay(0);  // closing commits and leaves the group: let it be answered
}

// At most once MS3 commits synchronously before it posts, and while the group coordinator is silent
// that commit holds the consuming thread: nothing polls the handle. The silent broker must still
// show within the bound (librdkafka's error events would wait for a poll; its FAIL lines do not).
TEST(Ms3KafkaConsumer, ABrokerGoneSilentIsCountedWhileNothingPollsTheConsumer) {
  test::MockKafka cluster(kTopic);
  auto config = consumer_config(cluster.bootstraps());
  config.socket_timeout_ms = 1500;
  KafkaConsumer consumer(config);
  ASSERT_TRUE(test::eventually([&] {
    consumer.consume(100ms);
    return consumer.assigned_partitions() > 0;
  }, 30s, 0ms)) << "never joined the group";
  ASSERT_EQ(consumer.transport_errors(), 0u);

  cluster.delay(60000);  // the background fetch goes unanswered; this thread no longer polls
  EXPECT_TRUE(test::eventually([&] { return consumer.transport_errors() > 0; }, 1500ms + 1500ms, 10ms))
      << "a silent broker was not counted while the consuming thread was held";
  cluster.delay(0);
}

}  // namespace
}  // namespace ringtrace::ms3
