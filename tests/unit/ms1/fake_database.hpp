#pragma once
/// @file
/// The one fake database of MS1's unit tests: it records what it was asked, in order, and can
/// be scripted to refuse, fail or hold an operation.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ringtrace/ms1/ring/message_store.hpp"

namespace ringtrace::ms1::fakes {

/// How long the fake waits at its gate for the writer: only a broken writer ever waits this long.
inline constexpr std::chrono::seconds kGateDeadline{20};

using Key = std::pair<std::int64_t, std::int64_t>;  // (session_id, id), the table's primary key
using Log = std::vector<std::string>;
/// How a scripted call fails.
enum class Fault { kUnavailable, kRefused };

/// The database as the test sees it: what it was asked, in order, and what it should do next.
/// The writer thread calls in through FakeStore while the test thread reads and scripts it, so
/// every member is behind `mutex_`.
class FakeDatabase {
 public:
  /// While set, connect() fails as an unreachable server does.
  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  /// The next call of `op` ("store", "begin", "finish") throws instead of writing.
  void fail_next(const std::string& op, Fault fault) {
    std::lock_guard lock(mutex_);
    faults_[op].push_back(fault);
  }
  /// Any store() whose batch holds message `id` fails as a constraint violation would: the whole
  /// transaction is refused, every time.
  void refuse_row(std::int64_t id) {
    std::lock_guard lock(mutex_);
    refused_ids_.insert(id);
  }
  /// Puts a row into the sessions table: closed with id bound `bound` (see MessageStore::id_bound),
  /// or open (nullopt).
  void set_session(std::int64_t session_id, std::optional<std::int64_t> bound) {
    std::lock_guard lock(mutex_);
    sessions_[session_id] = bound;
  }
  /// Calls of `op` ("connect", "store", …) wait at the gate until release().
  void hold(const std::string& op) {
    std::lock_guard lock(mutex_);
    held_ = op;
  }
  /// Opens the gate.
  void release() {
    {
      std::lock_guard lock(mutex_);
      held_.clear();
    }
    gate_.notify_all();
  }
  /// Waits until the writer thread is parked at the gate.
  bool wait_held() {
    std::unique_lock lock(mutex_);
    return gate_.wait_for(lock, kGateDeadline, [this] { return waiting_ > 0; });
  }

  /// Every call so far: "connect", "store 1,2,3", "begin", "finish 7", "bound 7"; a trailing "!" means it threw.
  Log log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }
  /// Rows of every successful store() call.
  std::vector<std::size_t> batch_sizes() const {
    std::lock_guard lock(mutex_);
    return batch_sizes_;
  }
  /// Primary keys in the messages table.
  std::set<Key> rows() const {
    std::lock_guard lock(mutex_);
    return rows_;
  }

  void connect() {
    enter("connect");
    std::lock_guard lock(mutex_);
    if (down_) {
      log_.push_back("connect!");
      throw StoreUnavailable("connection refused");
    }
    log_.push_back("connect");
  }

  std::int64_t begin_session(std::span<const ClockRecord> clocks = {}) {
    enter("begin");
    std::lock_guard lock(mutex_);
    fail_if_scripted("begin", "begin");
    log_.push_back("begin");
    sessions_[++last_session_id_] = std::nullopt;
    upsert_clocks(last_session_id_, clocks);
    return last_session_id_;
  }

  /// The clock_offsets rows of session `session_id`, by clock: the start's estimates, each
  /// replaced by the finish's (the same transaction as the sessions row, so a fault writes none).
  std::map<common::Hop, ClockRecord> clocks(std::int64_t session_id) const {
    std::lock_guard lock(mutex_);
    const auto it = clocks_.find(session_id);
    return it == clocks_.end() ? std::map<common::Hop, ClockRecord>{} : it->second;
  }

  std::optional<std::int64_t> id_bound(std::int64_t session_id) {
    enter("bound");
    std::lock_guard lock(mutex_);
    const std::string entry = "bound " + std::to_string(session_id);
    fail_if_scripted("bound", entry);
    log_.push_back(entry);
    const auto it = sessions_.find(session_id);
    return it == sessions_.end() ? std::nullopt : it->second;
  }

  /// The trace id each stored row was written with (its first write; a duplicate changes nothing).
  std::map<Key, common::tracing::TraceId> trace_ids() const {
    std::lock_guard lock(mutex_);
    return trace_ids_;
  }

  std::vector<bool> store(std::span<const StoreRow> batch) {
    enter("store");
    std::lock_guard lock(mutex_);
    std::string entry = "store ";
    for (std::size_t i = 0; i < batch.size(); ++i) entry += (i ? "," : "") + std::to_string(batch[i].message.id);
    fail_if_scripted("store", entry);
    for (const auto& row : batch) {
      if (refused_ids_.count(row.message.id) != 0) {
        log_.push_back(entry + "!");
        throw StoreError("new row violates check constraint");
      }
    }
    log_.push_back(entry);
    batch_sizes_.push_back(batch.size());
    std::vector<bool> inserted;
    for (const auto& row : batch) {
      const Key key{row.message.session_id, row.message.id};
      const bool fresh = rows_.insert(key).second;
      if (fresh) trace_ids_[key] = row.trace_id;
      inserted.push_back(fresh);
    }
    return inserted;
  }

  /// Sessions an earlier MS1 left open, closed by the next close_interrupted() call.
  void leave_open(std::vector<std::int64_t> ids) {
    std::lock_guard lock(mutex_);
    open_sessions_ = std::move(ids);
  }
  /// How often close_interrupted() ran (kept out of log() so the other tests' logs stay short).
  int close_calls() const {
    std::lock_guard lock(mutex_);
    return close_calls_;
  }

  std::vector<std::int64_t> close_interrupted() {
    std::lock_guard lock(mutex_);
    ++close_calls_;
    fail_if_scripted("close", "close");
    return std::exchange(open_sessions_, {});
  }

  void finish_session(std::int64_t session_id, std::int64_t sent, std::span<const ClockRecord> clocks = {}) {
    enter("finish");
    std::lock_guard lock(mutex_);
    const std::string entry = "finish " + std::to_string(session_id);
    fail_if_scripted("finish", entry);
    log_.push_back(entry);
    sessions_[session_id] = sent;
    upsert_clocks(session_id, clocks);
  }

 private:
  void enter(const std::string& op) {
    std::unique_lock lock(mutex_);
    if (held_ != op) return;
    ++waiting_;
    gate_.notify_all();
    gate_.wait(lock, [&] { return held_ != op; });  // TearDown releases, so a failed test cannot hang here
    --waiting_;
  }

  // Called with mutex_ held: the peer clocks' records, as the stores keep them (one a clock).
  void upsert_clocks(std::int64_t session_id, std::span<const ClockRecord> clocks) {
    for (const auto& clock : clocks) {
      if (is_peer_clock(clock.clock)) clocks_[session_id][clock.clock] = clock;
    }
  }

  // Called with mutex_ held; a thrown fault leaves the rows as they were, like a rolled-back transaction.
  void fail_if_scripted(const std::string& op, const std::string& entry) {
    auto& queue = faults_[op];
    if (queue.empty()) return;
    const Fault fault = queue.front();
    queue.pop_front();
    log_.push_back(entry + "!");
    if (fault == Fault::kUnavailable) throw StoreUnavailable("server closed the connection unexpectedly");
    throw StoreError("relation \"messages\" does not exist");
  }

  mutable std::mutex mutex_;
  std::condition_variable gate_;
  std::string held_;
  int waiting_ = 0;
  bool down_ = false;
  std::map<std::string, std::deque<Fault>> faults_;
  Log log_;
  std::vector<std::size_t> batch_sizes_;
  std::set<Key> rows_;
  std::map<Key, common::tracing::TraceId> trace_ids_;
  std::set<std::int64_t> refused_ids_;
  std::map<std::int64_t, std::optional<std::int64_t>> sessions_;  ///< id → bound, nullopt while open
  std::map<std::int64_t, std::map<common::Hop, ClockRecord>> clocks_;  ///< clock_offsets: id → clock → record
  std::int64_t last_session_id_ = 41;
  std::vector<std::int64_t> open_sessions_;
  int close_calls_ = 0;
};

/// The MessageStore the writer owns; the test keeps the database it forwards to.
class FakeStore : public MessageStore {
 public:
  explicit FakeStore(std::shared_ptr<FakeDatabase> db) : db_(std::move(db)) {}
  void connect() override { db_->connect(); }
  std::int64_t begin_session(const SessionSettings&, common::Timestamp, std::span<const ClockRecord> clocks) override {
    return db_->begin_session(clocks);
  }
  std::vector<bool> store(std::span<const StoreRow> rows) override { return db_->store(rows); }
  void finish_session(const SessionSummary& summary) override {
    db_->finish_session(summary.session_id, summary.sent, summary.clocks);
  }
  std::vector<std::int64_t> close_interrupted_sessions() override { return db_->close_interrupted(); }
  std::optional<std::int64_t> id_bound(std::int64_t session_id) override { return db_->id_bound(session_id); }

 private:
  std::shared_ptr<FakeDatabase> db_;
};

}  // namespace ringtrace::ms1::fakes
