#pragma once
/// @file
/// StoreWriter against a fake MessageStore: MS1's event loop runs on an io_context thread, the
/// writer thread works the fake, and the test thread steers both. The fake can hold an operation
/// at a gate, which makes batching and ordering deterministic without sleeping for them.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/ms1/message_store.hpp"
#include "ringtrace/ms1/store_writer.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms1 {

// gtest prints enums as numbers; names make a failed comparison readable.
inline void PrintTo(StoreOutcome outcome, std::ostream* os) {
  switch (outcome) {
    case StoreOutcome::kStored: *os << "kStored"; return;
    case StoreOutcome::kDuplicate: *os << "kDuplicate"; return;
    case StoreOutcome::kUnavailable: *os << "kUnavailable"; return;
    case StoreOutcome::kRejected: *os << "kRejected"; return;
    case StoreOutcome::kOverloaded: *os << "kOverloaded"; return;
  }
  *os << "StoreOutcome(" << static_cast<int>(outcome) << ")";
}

}  // namespace ringtrace::ms1

using namespace ringtrace;
using namespace ringtrace::ms1;
using namespace std::chrono_literals;

namespace store_writer_test {

/// Long enough for a loaded, sanitized build; only a broken writer ever waits this long.
constexpr auto kDeadline = 20s;

using Key = std::pair<std::int64_t, std::int64_t>;  // (session_id, id), the table's primary key
using Log = std::vector<std::string>;
using Outcomes = std::vector<StoreOutcome>;

/// How a scripted call fails.
enum class Fault { kUnavailable, kRefused };

using ringtrace::test::eventually;

inline common::Message message(std::int64_t id, std::int64_t session = 1) {
  common::Message m;
  m.id = id;
  m.session_id = session;
  return m;
}

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
    return gate_.wait_for(lock, kDeadline, [this] { return waiting_ > 0; });
  }

  /// Every call so far: "connect", "store 1,2,3", "begin", "finish 7"; a trailing "!" means it threw.
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

  std::int64_t begin_session() {
    enter("begin");
    std::lock_guard lock(mutex_);
    fail_if_scripted("begin", "begin");
    log_.push_back("begin");
    return ++last_session_id_;
  }

  std::vector<bool> store(std::span<const common::Message> messages) {
    enter("store");
    std::lock_guard lock(mutex_);
    std::string entry = "store ";
    for (std::size_t i = 0; i < messages.size(); ++i) entry += (i ? "," : "") + std::to_string(messages[i].id);
    fail_if_scripted("store", entry);
    for (const auto& m : messages) {
      if (refused_ids_.count(m.id) != 0) {
        log_.push_back(entry + "!");
        throw StoreError("new row violates check constraint");
      }
    }
    log_.push_back(entry);
    batch_sizes_.push_back(messages.size());
    std::vector<bool> inserted;
    for (const auto& m : messages) inserted.push_back(rows_.emplace(m.session_id, m.id).second);
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

  void finish_session(std::int64_t session_id) {
    enter("finish");
    std::lock_guard lock(mutex_);
    const std::string entry = "finish " + std::to_string(session_id);
    fail_if_scripted("finish", entry);
    log_.push_back(entry);
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
  std::set<std::int64_t> refused_ids_;
  std::int64_t last_session_id_ = 41;
  std::vector<std::int64_t> open_sessions_;
  int close_calls_ = 0;
};

/// The MessageStore the writer owns; the test keeps the database it forwards to.
class FakeStore : public MessageStore {
 public:
  explicit FakeStore(std::shared_ptr<FakeDatabase> db) : db_(std::move(db)) {}
  void connect() override { db_->connect(); }
  std::int64_t begin_session(const SessionSettings&, common::Timestamp) override { return db_->begin_session(); }
  std::vector<bool> store(std::span<const common::Message> messages) override { return db_->store(messages); }
  void finish_session(const SessionSummary& summary) override { db_->finish_session(summary.session_id); }
  std::vector<std::int64_t> close_interrupted_sessions() override { return db_->close_interrupted(); }

 private:
  std::shared_ptr<FakeDatabase> db_;
};

/// Quick reconnects so the tests that take the database down do not wait for MS1's defaults.
inline StoreWriterOptions fast_options() {
  StoreWriterOptions options;
  options.reconnect_initial = 1ms;
  options.reconnect_max = 8ms;
  return options;
}

class StoreWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);  // the failure paths log on purpose
    loop_thread_ = std::thread([this] { io_.run(); });
    loop_id_ = loop_thread_.get_id();
  }

  void TearDown() override {
    db_->release();  // a failed assertion must not leave the writer parked in the fake
    writer_.reset();
    work_.reset();
    loop_thread_.join();
    spdlog::set_level(spdlog::level::info);
  }

  StoreWriter& start(StoreWriterOptions options = fast_options()) {
    writer_ = std::make_unique<StoreWriter>(std::make_unique<FakeStore>(db_), io_.get_executor(), options);
    return *writer_;
  }

  /// Runs `f` on the loop thread and returns its result; the completions' records are read this way.
  template <typename F>
  auto on_loop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    boost::asio::post(io_, std::move(task));
    return result.get();
  }

  /// Completion of store(): checks the thread, keeps the outcome and its place among all completions.
  StoreWriter::StoreCallback record(Key key) {
    return [this, key](StoreOutcome outcome) {
      if (std::this_thread::get_id() != loop_id_) ++off_loop_;
      outcomes_[key].push_back(outcome);
      events_.push_back("store " + std::to_string(key.second));
      ++completions_;
    };
  }

  /// Hands message `id` to the writer from the loop thread, as MS1's /store handler does.
  void store(std::int64_t id, std::int64_t session = 1) {
    on_loop([&] { writer_->store(message(id, session), record({session, id})); });
  }

  void finish(std::int64_t session_id) {
    on_loop([&] {
      SessionSummary summary;
      summary.session_id = session_id;
      writer_->finish_session(summary, [this, session_id](const std::string& error) {
        if (std::this_thread::get_id() != loop_id_) ++off_loop_;
        events_.push_back("finish " + std::to_string(session_id) + (error.empty() ? "" : " failed: " + error));
        ++completions_;
      });
    });
  }

  void begin() {
    on_loop([&] {
      writer_->begin_session(SessionSettings{}, common::now_utc(),
                             [this](std::optional<std::int64_t> id, const std::string& error) {
                               if (std::this_thread::get_id() != loop_id_) ++off_loop_;
                               events_.push_back(id ? "begin " + std::to_string(*id) : "begin failed: " + error);
                               ++completions_;
                             });
    });
  }

  /// Waits until `n` completions have run on the loop.
  bool completed(std::size_t n) {
    return eventually([&] { return on_loop([&] { return completions_; }) >= n; });
  }

  /// Outcomes of message (session, id) so far, in completion order.
  Outcomes outcomes(std::int64_t id, std::int64_t session = 1) {
    return on_loop([&] {
      const auto it = outcomes_.find({session, id});
      return it == outcomes_.end() ? Outcomes{} : it->second;
    });
  }

  Log events() {
    return on_loop([&] { return events_; });
  }

  /// Stops the writer and lets the loop run every completion it posted, so counts are final.
  void settle() {
    writer_->stop();
    on_loop([] {});
  }

  void expect_all_on_loop() {
    EXPECT_EQ(on_loop([&] { return off_loop_; }), 0) << "a completion ran off the event loop";
  }

  std::shared_ptr<FakeDatabase> db_ = std::make_shared<FakeDatabase>();
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::thread loop_thread_;
  std::thread::id loop_id_;
  std::unique_ptr<StoreWriter> writer_;

  // Loop thread only.
  std::map<Key, Outcomes> outcomes_;
  Log events_;
  std::size_t completions_ = 0;
  int off_loop_ = 0;
};

inline Log store_ids(std::int64_t first, std::int64_t last) {
  std::string entry = "store ";
  for (auto id = first; id <= last; ++id) entry += (id > first ? "," : "") + std::to_string(id);
  return {entry};
}

inline Log concat(std::initializer_list<Log> parts) {
  Log all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

}  // namespace store_writer_test

using namespace store_writer_test;
