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

#include "ringtrace/ms1/ring/message_store.hpp"
#include "ringtrace/ms1/ring/store_writer.hpp"
#include "fake_database.hpp"
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
    case StoreOutcome::kUnknownSession: *os << "kUnknownSession"; return;
    case StoreOutcome::kUnknownId: *os << "kUnknownId"; return;
  }
  *os << "StoreOutcome(" << static_cast<int>(outcome) << ")";
}

}  // namespace ringtrace::ms1

using namespace ringtrace;
using namespace ringtrace::ms1;
using namespace std::chrono_literals;

namespace store_writer_test {

using namespace ringtrace::ms1::fakes;

/// Long enough for a loaded, sanitized build; only a broken writer ever waits this long.
constexpr auto kDeadline = 20s;

using Outcomes = std::vector<StoreOutcome>;

using ringtrace::test::eventually;

inline common::Message message(std::int64_t id, std::int64_t session = 1) {
  common::Message m;
  m.id = id;
  m.session_id = session;
  return m;
}

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
  void store(std::int64_t id, std::int64_t session = 1, IdCheck check = IdCheck::kDone,
             common::tracing::TraceId trace_id = {}) {
    on_loop([&] { writer_->store(message(id, session), trace_id, check, record({session, id})); });
  }

  void finish(std::int64_t session_id, std::vector<ClockRecord> clocks = {}) {
    on_loop([&] {
      SessionSummary summary;
      summary.session_id = session_id;
      summary.clocks = clocks;
      writer_->finish_session(summary, [this, session_id](const std::string& error) {
        if (std::this_thread::get_id() != loop_id_) ++off_loop_;
        events_.push_back("finish " + std::to_string(session_id) + (error.empty() ? "" : " failed: " + error));
        ++completions_;
      });
    });
  }

  void begin(std::vector<ClockRecord> clocks = {}) {
    on_loop([&] {
      writer_->begin_session(SessionSettings{}, common::now_utc(), clocks,
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
