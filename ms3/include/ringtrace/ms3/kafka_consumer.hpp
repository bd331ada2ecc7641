#pragma once
/// @file
/// RAII wrapper over the librdkafka C++ KafkaConsumer with explicit, per-record commits.

#include <chrono>
#include <cstdint>
#include <atomic>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include <librdkafka/rdkafkacpp.h>

#include "ringtrace/common/kafka_events.hpp"

#include "ringtrace/common/config.hpp"
#include "ringtrace/ms3/offset_ledger.hpp"

namespace ringtrace::ms3 {

/// Subscribed on construction; destruction commits what was processed (synchronously) and leaves the group.
/// Talks to librdkafka and logs; every offset question goes to its OffsetLedger.
/// Not thread-safe: one thread consumes and commits (the metric getters excepted).
class KafkaConsumer {
 public:
  /// The recommit backoff's first wait; OffsetLedger::kRecommitAfter says why.
  static constexpr std::chrono::milliseconds kRecommitAfter = OffsetLedger::kRecommitAfter;
  /// The recommit backoff's longest wait; OffsetLedger::kRecommitMax says why.
  static constexpr std::chrono::milliseconds kRecommitMax = OffsetLedger::kRecommitMax;

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

  /// Broker connections lost or gone silent so far (common::KafkaEventLogger), so a harness sees
  /// a partition detected; any thread.
  [[nodiscard]] std::uint64_t transport_errors() const { return events_.transport_errors(); }

  /// Marks `records` done and commits, per partition, the offset after the last of them,
  /// asynchronously; only call once MS1 took (or refused for good) every one of them.
  void commit(const std::vector<const RdKafka::Message*>& records);

  /// Commits the offsets after `records` and waits for the broker's answer: at-most-once commits
  /// before processing, and records whose commit failed must not be processed. False (logged)
  /// when the commit failed.
  bool commit_sync(const std::vector<const RdKafka::Message*>& records);
  /// At most once: `records`, whose commit failed, are given up and never processed; their
  /// offsets are committed later by retry_given_up() (OffsetLedger::give_up() says why).
  void give_up(const std::vector<const RdKafka::Message*>& records);
  /// Commits the offsets of the records given up, for the partitions still assigned (a new owner
  /// commits its own), and waits for the answer; true when none is left to commit.
  bool retry_given_up();
  /// Commits again, asynchronously, what OffsetLedger::recommit() finds the broker does not hold,
  /// once its backoff has passed; call it while idle. True when nothing is behind.
  bool recommit();
  /// How many times recommit() had to commit again.
  [[nodiscard]] std::uint64_t recommits() const { return recommits_.load(std::memory_order_relaxed); }
  /// Commits every done record synchronously, then leaves the group; idempotent.
  void close();

  /// Records on the broker past what it holds for our partitions (OffsetLedger::lag()), from
  /// librdkafka's cached watermarks, so cheap and callable from any thread; 0 once closed.
  [[nodiscard]] std::int64_t commit_lag() const;
  /// Partitions currently assigned to us (-1 before the first assignment); any thread.
  [[nodiscard]] int assigned_partitions() const { return assigned_.load(std::memory_order_relaxed); }

 private:
  /// Per partition, the first of `records` and the offset after the last.
  static Spans spans(const std::vector<const RdKafka::Message*>& records);
  /// Per partition, the offset after the last of `records`.
  static Offsets next_offsets(const std::vector<const RdKafka::Message*>& records);
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
  /// Keeps the ledger's partitions in step with the group's assignment.
  void on_rebalance(bool assigned, const std::vector<RdKafka::TopicPartition*>& partitions);

  /// Hands the broker's answer to every commit (async and sync) to on_committed(); runs inside consume().
  class CommitTracker : public RdKafka::OffsetCommitCb {
   public:
    explicit CommitTracker(KafkaConsumer& owner) : owner_(owner) {}
    void offset_commit_cb(RdKafka::ErrorCode err, std::vector<RdKafka::TopicPartition*>& offsets) override;

   private:
    KafkaConsumer& owner_;
  };
  /// Hands what the broker acknowledged to the ledger, in the order it answered, and logs failures.
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
  mutable std::mutex offsets_mutex_;  ///< metric scrapes read ledger_ and consumer_'s watermarks on another thread
  OffsetLedger ledger_;  ///< guarded by offsets_mutex_
  bool closed_ = false;  ///< guarded by offsets_mutex_
  std::atomic<std::uint64_t> recommits_{0};
};

}  // namespace ringtrace::ms3
