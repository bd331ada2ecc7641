#pragma once
/// @file
/// RAII wrapper over the librdkafka C++ KafkaConsumer with explicit, per-record commits.

#include <chrono>
#include <cstdint>
#include <atomic>
#include <map>
#include <set>
#include <mutex>
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
  /// An unacknowledged commit is made again this long after the last one: an answer takes
  /// milliseconds, a coordinator move a few seconds (librdkafka retries and defers meanwhile).
  static constexpr std::chrono::milliseconds kRecommitAfter{1000};
  /// The longest wait between two recommits of an offset the broker keeps refusing.
  static constexpr std::chrono::milliseconds kRecommitMax{30000};

  /// Configures and subscribes to `config.topic` in group `config.group_id` (as static member
  /// `group_instance_id` unless empty); throws std::runtime_error on refusal.
  explicit KafkaConsumer(const common::KafkaConfig& config, const std::string& group_instance_id = {});
  /// close() unless already closed.
  ~KafkaConsumer();

  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  /// The next record, or nullptr after `timeout` without one; errors are logged, not returned.
  std::unique_ptr<RdKafka::Message> consume(std::chrono::milliseconds timeout);

  /// librdkafka raised a fatal error (e.g. this static member was fenced after a long broker
  /// outage): this handle is unusable, and recreate() must replace it.
  [[nodiscard]] bool failed() const { return failed_; }

  /// Replaces a failed librdkafka consumer by a fresh one with the same settings, which rejoins
  /// the group and resumes from the committed offsets (what was not committed is read again).
  void recreate();

  /// How many times recreate() ran.
  [[nodiscard]] std::uint64_t recreated() const { return recreated_.load(std::memory_order_relaxed); }

  /// Marks `records` done and commits, per partition, the offset after the last of them,
  /// asynchronously; only call once MS1 took (or refused for good) every one of them.
  void commit(const std::vector<const RdKafka::Message*>& records);

  /// Commits the offsets after `records` and waits for the broker's answer: at-most-once commits
  /// before processing, and records whose commit failed must not be processed. False (logged)
  /// when the commit failed.
  bool commit_sync(const std::vector<const RdKafka::Message*>& records);
  /// At most once: `records`, whose commit failed, are given up and never processed; their
  /// offsets are committed later by retry_given_up(), so the group does not count them as lag
  /// for ever (nothing after them may come to carry the offset forward).
  void give_up(const std::vector<const RdKafka::Message*>& records);
  /// Commits the offsets of the records given up, for the partitions still assigned (a new owner
  /// commits its own); true when none is left to commit.
  bool retry_given_up();
  /// Commits again, asynchronously, every assigned partition's offset that the broker has not
  /// acknowledged (its commit failed, or an older commit retried after a coordinator move landed
  /// after it): with no record after it, nothing else would. Waits kRecommitAfter after the last
  /// commit, doubling up to kRecommitMax while it keeps failing. True when nothing is behind.
  bool recommit();
  /// How many times recommit() had to commit again.
  [[nodiscard]] std::uint64_t recommits() const { return recommits_.load(std::memory_order_relaxed); }
  /// Commits every done record synchronously, then leaves the group; idempotent.
  void close();

  /// Records between each partition's end and the offset the broker acknowledged last (before its
  /// first answer, where we started reading the partition), summed over the partitions assigned to us now (one
  /// taken by another member is its lag, not ours); from librdkafka's cached watermarks, so cheap
  /// and callable from any thread.
  [[nodiscard]] std::int64_t commit_lag() const;
  /// Partitions currently assigned to us (-1 before the first assignment); any thread.
  [[nodiscard]] int assigned_partitions() const { return assigned_.load(std::memory_order_relaxed); }

 private:
  /// Per partition, the offset after the last of `records`.
  static std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offsets(
      const std::vector<const RdKafka::Message*>& records);
  /// A subscribed librdkafka consumer built from config_; throws std::runtime_error on refusal.
  std::unique_ptr<RdKafka::KafkaConsumer> create();

  /// Logs partition (re)assignments, so operators and scripts can see when MS3 is ready.
  class RebalanceLogger : public RdKafka::RebalanceCb {
   public:
    explicit RebalanceLogger(KafkaConsumer& owner) : owner_(owner) {}
    void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override;

   private:
    KafkaConsumer& owner_;
  };
  /// Keeps owned_ in step with the group's assignment; a revoked partition's offsets are
  /// forgotten, so they are neither counted as lag nor committed over its new owner's.
  void on_rebalance(bool assigned, const std::vector<RdKafka::TopicPartition*>& partitions);

  /// Hands the broker's answer to every commit (async and sync) to on_committed(); runs inside consume().
  class CommitTracker : public RdKafka::OffsetCommitCb {
   public:
    explicit CommitTracker(KafkaConsumer& owner) : owner_(owner) {}
    void offset_commit_cb(RdKafka::ErrorCode err, std::vector<RdKafka::TopicPartition*>& offsets) override;

   private:
    KafkaConsumer& owner_;
  };
  /// Records what the broker acknowledged, in the order it answered (the last answer is what it
  /// holds), and logs failures.
  void on_committed(RdKafka::ErrorCode err, const std::vector<RdKafka::TopicPartition*>& offsets);

  common::KafkaEventLogger events_{"ms3"};
  CommitTracker commits_{*this};
  std::atomic<int> assigned_{-1};
  RebalanceLogger rebalance_{*this};
  common::KafkaConfig config_;
  std::string group_instance_id_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  bool failed_ = false;
  std::atomic<std::uint64_t> recreated_{0};
  mutable std::mutex offsets_mutex_;  ///< next_offsets_ is read by metric scrapes on another thread
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offsets_;  ///< per partition: offset to commit
  /// Per partition: the offset the broker last acknowledged; guarded by offsets_mutex_.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> committed_;
  bool closed_ = false;  ///< guarded by offsets_mutex_
  std::set<std::pair<std::string, std::int32_t>> owned_;  ///< assigned partitions; guarded by offsets_mutex_
  std::chrono::steady_clock::time_point last_commit_{};  ///< the last commit asked for (run thread only)
  std::chrono::milliseconds recommit_wait_{kRecommitAfter};  ///< grows while recommits fail (run thread only)
  std::atomic<std::uint64_t> recommits_{0};
  /// Offsets of records given up whose commit is still to be made (run thread only).
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> given_up_;
};

}  // namespace ringtrace::ms3
