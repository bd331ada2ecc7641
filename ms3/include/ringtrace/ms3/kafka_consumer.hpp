#pragma once
/// @file
/// RAII wrapper over the librdkafka C++ KafkaConsumer with explicit, per-record commits.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <librdkafka/rdkafkacpp.h>

#include "ringtrace/common/kafka_events.hpp"

#include "ringtrace/common/config.hpp"

namespace ringtrace::ms3 {

/// Subscribed on construction; destruction commits what was processed (synchronously) and leaves the group.
/// Not thread-safe: one thread consumes and commits.
class KafkaConsumer {
 public:
  /// Configures and subscribes to `config.topic` in group `config.group_id`; throws std::runtime_error on refusal.
  explicit KafkaConsumer(const common::KafkaConfig& config);
  /// close() unless already closed.
  ~KafkaConsumer();

  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  /// The next record, or nullptr after `timeout` without one; errors are logged, not returned.
  std::unique_ptr<RdKafka::Message> consume(std::chrono::milliseconds timeout);

  /// Marks `record` done and commits offset+1 asynchronously; only call once MS1 took (or refused for good) it.
  void commit(const RdKafka::Message& record);

  /// Commits every done record synchronously, then leaves the group; idempotent.
  void close();

 private:
  /// Logs partition (re)assignments, so operators and scripts can see when MS3 is ready.
  class RebalanceLogger : public RdKafka::RebalanceCb {
   public:
    void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override;
  };

  /// Logs commit failures; runs inside consume().
  class CommitLogger : public RdKafka::OffsetCommitCb {
   public:
    void offset_commit_cb(RdKafka::ErrorCode err, std::vector<RdKafka::TopicPartition*>& offsets) override;
  };

  common::KafkaEventLogger events_{"ms3"};
  CommitLogger commits_;
  RebalanceLogger rebalance_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offsets_;  ///< per partition: offset to commit
  bool closed_ = false;
};

}  // namespace ringtrace::ms3
