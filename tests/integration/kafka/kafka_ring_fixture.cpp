/// @file
/// The Kafka ring fixture: topic creation, the offset checker and the topic reader.

#include "kafka_ring_fixture.hpp"

#include <atomic>

#include <unistd.h>

#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms2/frame_processor.hpp"
#include "ringtrace/ms2/topic_admin.hpp"
#include "ringtrace/test/backends.hpp"

namespace ringtrace::kafka_ring {

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(now) + "-" + std::to_string(counter++);
}

std::string ms1_frame(std::int64_t session_id, std::int64_t id, common::Naming naming) {
  common::Message m;
  m.id = id;
  m.session_id = session_id;
  m.at(common::Hop::kMs1) = common::now_utc();
  return common::encode(m, naming);
}

void KafkaRing::SetUp() {
  config_.kafka.brokers = test::kafka_brokers();
  config_.kafka.topic = unique_name("ringtrace-it");
  config_.kafka.group_id = unique_name("ringtrace-it-group");
  config_.kafka.partitions = 1;
  config_.kafka.startup_timeout_ms = 15000;
  config_.ms2.listen_address = "127.0.0.1";
  config_.ms2.port = 0;
  config_.ms2.admin_port = 0;  // off: tests run in parallel, and the e2e covers the admin ports
  config_.ms3.admin_port = 0;
  config_.ms3.request_timeout_ms = 2000;
  config_.ms3.retry_initial_ms = 20;
  config_.ms3.retry_max_ms = 200;
  producer_ = std::make_unique<ms2::KafkaProducer>(config_.kafka, producer_counters_);
  ASSERT_EQ(ms2::ensure_topic(producer_->c_handle(), config_.kafka), ms2::TopicOutcome::kCreated);
}

void KafkaRing::TearDown() {
  if (checker_) checker_->close();
}

void KafkaRing::use_store(std::uint16_t port) {
  config_.ms3.store_url = "http://127.0.0.1:" + std::to_string(port) + "/store";
}

void KafkaRing::produce_from_ms1(std::int64_t session_id, std::int64_t id) {
  auto result = ms2::process_frame(ms1_frame(session_id, id), true, config_.message.naming, common::now_utc());
  ASSERT_EQ(result.outcome, common::HopOutcome::kOk) << result.reason;
  ASSERT_EQ(producer_->produce({std::to_string(result.message.session_id), result.payload, {}}, {}),
            ms2::ProduceOutcome::kQueued);
}

std::int64_t KafkaRing::committed_offset() {
  if (!checker_) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", config_.kafka.brokers, error);
    conf->set("group.id", config_.kafka.group_id, error);
    checker_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!checker_) ADD_FAILURE() << error;
  }
  std::vector<RdKafka::TopicPartition*> partitions{RdKafka::TopicPartition::create(config_.kafka.topic, 0)};
  const auto err = checker_->committed(partitions, 5000);
  const auto offset = err == RdKafka::ERR_NO_ERROR ? partitions[0]->offset() : -2;
  RdKafka::TopicPartition::destroy(partitions);
  return offset;
}

std::vector<KafkaRing::Record> KafkaRing::read_topic(std::size_t count) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", config_.kafka.brokers, error);
  conf->set("group.id", unique_name("ringtrace-it-reader"), error);
  conf->set("enable.auto.commit", "false", error);
  std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.get(), error));
  std::vector<RdKafka::TopicPartition*> partitions{
      RdKafka::TopicPartition::create(config_.kafka.topic, 0, RdKafka::Topic::OFFSET_BEGINNING)};
  reader->assign(partitions);
  RdKafka::TopicPartition::destroy(partitions);
  std::vector<Record> records;
  // consume() itself waits up to 100 ms for a record, so the poll needs no sleep of its own.
  test::eventually(
      [&] {
        std::unique_ptr<RdKafka::Message> record(reader->consume(100));
        if (record->err() == RdKafka::ERR_NO_ERROR) {
          records.push_back({record->key() ? *record->key() : std::string(),
                             std::string(static_cast<const char*>(record->payload()), record->len())});
        }
        return records.size() >= count;
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline), 0ms);
  reader->close();
  return records;
}

}  // namespace ringtrace::kafka_ring
