#pragma once
/// @file
/// MS3's offset bookkeeping, apart from librdkafka: what was processed, what the broker holds,
/// which partitions are ours, what to commit (again).

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ringtrace::ms3 {

/// A topic's partition: the unit Kafka assigns, orders and commits.
struct Partition {
  std::string topic;           ///< the topic's name
  std::int32_t partition = 0;  ///< the partition's number in its topic

  /// Ordered so partitions can key maps, compared by value in tests.
  friend auto operator<=>(const Partition&, const Partition&) = default;
};

/// Per partition, an offset as Kafka commits it: the next record to read.
using Offsets = std::map<Partition, std::int64_t>;

/// The records of one batch in one partition, from `first` up to the one before `next`.
struct Span {
  std::int64_t first = 0;  ///< the offset of the batch's first record in the partition
  std::int64_t next = 0;   ///< the offset after its last: what a commit of the batch stores
};

/// Per partition, what one batch of records covers.
using Spans = std::map<Partition, Span>;

/// An owned partition whose processed offset the broker does not hold.
struct Unacknowledged {
  Partition partition;  ///< the partition behind
  std::int64_t done = 0;  ///< the offset after its last processed record: what to commit again
  std::optional<std::int64_t> held;  ///< what the broker holds as far as we know; none if unknown
};

/// What recommit() found: the partitions behind, and whether to commit them again now.
struct Recommit {
  std::vector<Unacknowledged> behind;  ///< empty when the broker holds every processed offset
  bool due = false;  ///< the backoff has passed: commit `behind` again now (and count it)
};

/// Only ever remembers owned partitions: a revoked partition's offsets are forgotten, so they are
/// neither counted as lag nor committed over its new owner's, and a partition assigned back
/// starts afresh.
/// Not thread-safe: KafkaConsumer guards it with its own mutex, as metric scrapes read the lag.
class OffsetLedger {
 public:
  /// The clock the recommit backoff runs on; callers pass its `now`, so tests need no clock.
  using Clock = std::chrono::steady_clock;

  /// An unacknowledged commit is made again this long after the last one: an answer takes
  /// milliseconds, a coordinator move a few seconds (librdkafka retries and defers meanwhile).
  static constexpr std::chrono::milliseconds kRecommitAfter{1000};
  /// The longest wait between two recommits of an offset the broker keeps refusing.
  static constexpr std::chrono::milliseconds kRecommitMax{30000};

  /// The group gave us `partitions`; until they are processed, nothing of theirs is ours to commit.
  void assign(const std::vector<Partition>& partitions);
  /// The group took `partitions` away (eager rebalancing revokes everything; what comes back is
  /// assigned afresh): all of their offsets are forgotten.
  void revoke(const std::vector<Partition>& partitions);
  /// How many partitions are ours, for the assigned-partitions gauge.
  [[nodiscard]] std::size_t owned() const { return owned_.size(); }
  /// Whether `partition` is ours now: only then are its offsets remembered.
  [[nodiscard]] bool owns(const Partition& partition) const { return owned_.count(partition) != 0; }

  /// The batch `spans` was processed and its commit is sent at `now`, which restarts the
  /// recommit backoff. A partition's first record since it was assigned sits where the group's
  /// offset was then: until the broker answers, that is what it holds. Returns the offsets to
  /// commit: every partition of the batch, a revoked one's too (only owned ones are remembered).
  Offsets processed(const Spans& spans, Clock::time_point now);
  /// The broker's answer to a commit of `offset` in `partition`, in the order the answers came:
  /// the last answer wins, not the highest offset, since an older commit retried after a
  /// coordinator move can land after a newer one and take the group's offset back.
  void acknowledged(const Partition& partition, std::int64_t offset);
  /// A synchronous commit of `offsets` succeeded: they are processed, held by the broker, and no
  /// record given up before them needs committing any more.
  void committed(const Offsets& offsets);

  /// At most once: the records up to `next`, whose commit failed, are given up and never
  /// processed; their offsets are committed later (see given_up()), so the group does not count
  /// them as lag for ever (nothing after them may come to carry the offset forward).
  void give_up(const Offsets& next);
  /// The given-up offsets still to commit, for owned partitions only (a new owner commits its
  /// own from where it starts); a copy, so committed() can take it and settle them.
  [[nodiscard]] Offsets given_up() const { return given_up_; }
  /// A fresh consumer starts at the committed offsets: nothing given up is pending any more.
  void forget_given_up() { given_up_.clear(); }

  /// Every owned partition's processed offset the broker has not acknowledged (its commit
  /// failed, or an older commit retried after a coordinator move landed after it): with no record
  /// after it, nothing else would commit it. Due kRecommitAfter after the last commit, the wait
  /// doubling up to kRecommitMax while the broker keeps refusing, back to kRecommitAfter once it
  /// holds everything (or a new batch is committed).
  Recommit recommit(Clock::time_point now);
  /// The wait before the next recommit, to see the backoff.
  [[nodiscard]] std::chrono::milliseconds recommit_wait() const { return recommit_wait_; }

  /// Per owned partition, the offset after its last processed record: what the final commit stores.
  [[nodiscard]] const Offsets& done() const { return done_; }
  /// What the broker holds for the group per owned partition: its last answer, or before the
  /// first, where we started reading the partition.
  [[nodiscard]] const Offsets& held() const { return held_; }

  /// Records between each owned partition's end (from `end_of`; a partition it has no end for is
  /// skipped) and the offset the broker holds, summed: a revoked partition is its new owner's lag.
  [[nodiscard]] std::int64_t lag(const std::function<std::optional<std::int64_t>(const Partition&)>& end_of) const;

 private:
  std::set<Partition> owned_;  ///< assigned partitions; the maps below only hold these
  Offsets done_;      ///< per partition: the offset after the last processed record
  Offsets held_;      ///< per partition: what the broker holds, as far as we know
  Offsets given_up_;  ///< per partition: the offset after the records given up, still to commit
  Clock::time_point last_commit_{};  ///< the last commit asked for
  std::chrono::milliseconds recommit_wait_{kRecommitAfter};  ///< grows while recommits fail
};

}  // namespace ringtrace::ms3
