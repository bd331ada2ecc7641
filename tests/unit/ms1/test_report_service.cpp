// The report thread over a fake store: lazy connection, reconnection with backoff, a bounded
// queue, completions on the caller's executor, and stop.
#include <gtest/gtest.h>

#include <thread>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "fake_report_store.hpp"
#include "ringtrace/ms1/reports/report_service.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms1 {
namespace {

using fakes::FakeReports;
using fakes::FakeReportStore;
using std::chrono::milliseconds;

class ReportServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::off); }

  ReportService& service(ReportServiceOptions options = quick()) {
    service_ = std::make_unique<ReportService>(std::make_unique<FakeReportStore>(db), ioc.get_executor(), options);
    return *service_;
  }
  static ReportServiceOptions quick() {
    ReportServiceOptions options;
    options.reconnect_initial = milliseconds(1);
    options.reconnect_max = milliseconds(5);
    return options;
  }
  /// Runs the loop until `done` holds.
  template <typename Pred>
  bool run_until(Pred done) {
    return test::eventually([&] {
      ioc.restart();
      ioc.run_for(milliseconds(2));
      return done();
    });
  }
  ReportResult<SessionReport> report(std::int64_t id, int slowest = 10) {
    std::optional<ReportResult<SessionReport>> out;
    service_->session_report(id, slowest, [&](ReportResult<SessionReport> r) { out = std::move(r); });
    EXPECT_TRUE(run_until([&] { return out.has_value(); }));
    return out.value_or(ReportResult<SessionReport>{});
  }
  int reports_read() {
    std::lock_guard lock(db->mutex);
    return db->reports_read;
  }
  void set_rows(std::int64_t id, std::int64_t rows) {
    std::lock_guard lock(db->mutex);
    db->rows[id] = rows;
  }
  int connects() {
    std::lock_guard lock(db->mutex);
    return db->connects;
  }

  boost::asio::io_context ioc{1};
  std::shared_ptr<FakeReports> db = std::make_shared<FakeReports>();
  std::unique_ptr<ReportService> service_;
};

TEST_F(ReportServiceTest, ConnectsOnTheFirstJobOnly) {
  service();
  EXPECT_EQ(connects(), 0);
  EXPECT_FALSE(service_->connected());
  db->add_session(1);
  db->add_session(2);
  std::optional<ReportResult<std::vector<SessionRow>>> list;
  service_->list_sessions(std::nullopt, 20, [&](auto r) { list = std::move(r); });
  ASSERT_TRUE(run_until([&] { return list.has_value(); }));
  EXPECT_EQ(list->outcome, ReportOutcome::kOk);
  ASSERT_EQ(list->value.size(), 2u);
  EXPECT_EQ(list->value[0].session_id, 2);  // newest first
  EXPECT_EQ(report(1).outcome, ReportOutcome::kOk);
  EXPECT_EQ(connects(), 1);
  EXPECT_TRUE(service_->connected());
  EXPECT_EQ(db->last_slowest, 10);
}

TEST_F(ReportServiceTest, CompletionsRunOnTheCallersLoop) {
  service();
  db->add_session(1);
  std::thread::id ran_on;
  bool done = false;
  service_->session_report(1, 10, [&](auto) {
    ran_on = std::this_thread::get_id();
    done = true;
  });
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(ReportServiceTest, NoSuchSessionIsNotFound) {
  service();
  const auto r = report(42);
  EXPECT_EQ(r.outcome, ReportOutcome::kNotFound);
  EXPECT_EQ(r.error, "no session 42");
}

TEST_F(ReportServiceTest, DatabaseDownIsUnavailableUntilItIsBack) {
  db->down = true;
  service();
  db->add_session(1);
  EXPECT_EQ(report(1).outcome, ReportOutcome::kUnavailable);
  EXPECT_FALSE(service_->connected());
  db->down = false;
  // The backoff is a few milliseconds here: a later report connects again.
  EXPECT_TRUE(test::eventually([&] { return report(1).outcome == ReportOutcome::kOk; }));
  EXPECT_TRUE(service_->connected());
}

TEST_F(ReportServiceTest, BackoffAnswersAtOnceWithoutTryingAgain) {
  db->down = true;
  auto options = quick();
  options.reconnect_initial = std::chrono::minutes(1);
  options.reconnect_max = std::chrono::minutes(1);
  service(options);
  EXPECT_EQ(report(1).outcome, ReportOutcome::kUnavailable);
  db->down = false;
  const auto second = report(1);
  EXPECT_EQ(second.outcome, ReportOutcome::kUnavailable);
  EXPECT_NE(second.error.find("reconnecting"), std::string::npos) << second.error;
  EXPECT_EQ(connects(), 0);
}

TEST_F(ReportServiceTest, ADroppedConnectionIsReopenedOnceAtOnce) {
  service();
  db->add_session(1);
  ASSERT_EQ(report(1).outcome, ReportOutcome::kOk);
  {
    std::lock_guard lock(db->mutex);
    db->drops = 1;
  }
  EXPECT_EQ(report(1).outcome, ReportOutcome::kOk);
  EXPECT_EQ(connects(), 2);
  {
    std::lock_guard lock(db->mutex);
    db->drops = 2;  // dropped again right after reconnecting: give up for now
  }
  EXPECT_EQ(report(1).outcome, ReportOutcome::kUnavailable);
}

TEST_F(ReportServiceTest, ARefusedQueryFails) {
  service();
  db->add_session(1);
  db->refuse = true;
  const auto r = report(1);
  EXPECT_EQ(r.outcome, ReportOutcome::kFailed);
  EXPECT_NE(r.error.find("broken"), std::string::npos);
}

TEST_F(ReportServiceTest, BeyondTheQueueIsOverloaded) {
  auto options = quick();
  options.queue_max = 2;
  service(options);
  db->add_session(1);
  // The first job holds the thread (the fake's mutex), the next two fill the queue.
  std::unique_lock hold(db->mutex);
  std::vector<ReportOutcome> outcomes;
  for (int i = 0; i < 6; ++i) {
    service_->session_report(1, 10, [&](auto r) { outcomes.push_back(r.outcome); });
  }
  // At most the running job plus two queued may succeed; the rest are refused at once.
  ASSERT_TRUE(run_until([&] { return outcomes.size() >= 3; }));
  EXPECT_TRUE(std::all_of(outcomes.begin(), outcomes.end(), [](auto o) { return o == ReportOutcome::kOverloaded; }));
  hold.unlock();
  ASSERT_TRUE(run_until([&] { return outcomes.size() == 6; }));
  EXPECT_GE(std::count(outcomes.begin(), outcomes.end(), ReportOutcome::kOk), 2);
  EXPECT_LE(std::count(outcomes.begin(), outcomes.end(), ReportOutcome::kOk), 3);
}

TEST_F(ReportServiceTest, AClosedSessionsReportIsReadOnceWhileItsRowsStayTheSame) {
  service();
  db->add_session(1);
  db->close(1);
  set_rows(1, 5);
  {
    std::lock_guard lock(db->mutex);
    for (int id = 1; id <= 3; ++id) db->reports[1].slowest.push_back(SlowMessage{id, {}, ""});
  }
  ASSERT_EQ(report(1).outcome, ReportOutcome::kOk);
  const auto again = report(1);
  ASSERT_EQ(again.outcome, ReportOutcome::kOk);
  EXPECT_EQ(again.value.session.session_id, 1);
  EXPECT_EQ(again.value.slowest.size(), 3u);
  EXPECT_EQ(reports_read(), 1);
  EXPECT_EQ(service_->cache_hits(), 1u);
  // Fewer slowest messages come from the same entry, cut to the number asked.
  const auto fewer = report(1, 2);
  ASSERT_EQ(fewer.value.slowest.size(), 2u);
  EXPECT_EQ(fewer.value.slowest[0].id, 1);
  EXPECT_EQ(reports_read(), 1);
  // More than were read: read again.
  report(1, 20);
  EXPECT_EQ(reports_read(), 2);
  // A late message stored a row: read again, then cached again.
  set_rows(1, 6);
  report(1);
  EXPECT_EQ(reports_read(), 3);
  report(1);
  EXPECT_EQ(reports_read(), 3);
}

TEST_F(ReportServiceTest, AnOpenSessionIsReadEveryTimeAndCountedOnce) {
  service();
  db->add_session(1);
  report(1);
  report(1);
  report(1);
  EXPECT_EQ(reports_read(), 3);
  EXPECT_EQ(service_->cache_hits(), 0u);
  std::lock_guard lock(db->mutex);
  EXPECT_EQ(db->rows_counted, 1) << "a session seen open is read without counting its rows";
}

TEST_F(ReportServiceTest, ASessionSeenOpenIsKeptFromTheSecondReportAfterItClosed) {
  service();
  db->add_session(1);
  set_rows(1, 4);
  report(1);
  db->close(1);
  ASSERT_TRUE(report(1).value.session.finished_at) << "the closed session's report";
  EXPECT_EQ(reports_read(), 2);
  report(1);  // counted, read and kept
  EXPECT_EQ(reports_read(), 3);
  report(1);
  report(1);
  EXPECT_EQ(reports_read(), 3);
  EXPECT_EQ(service_->cache_hits(), 2u);
  set_rows(1, 5);  // a late message
  report(1);
  EXPECT_EQ(reports_read(), 4);
}

TEST_F(ReportServiceTest, TheLeastRecentlyUsedSessionLeavesTheCacheFirst) {
  auto options = quick();
  options.cached_sessions = 2;
  service(options);
  for (int id = 1; id <= 3; ++id) {
    db->add_session(id);
    db->close(id);
  }
  report(1);
  report(2);
  report(1);  // 2 is now the least recently used
  report(3);  // evicts 2
  EXPECT_EQ(reports_read(), 3);
  report(1);
  report(3);
  EXPECT_EQ(reports_read(), 3);
  report(2);
  EXPECT_EQ(reports_read(), 4);
}

TEST_F(ReportServiceTest, NoCacheWhenNoneIsWanted) {
  auto options = quick();
  options.cached_sessions = 0;
  service(options);
  db->add_session(1);
  db->close(1);
  report(1);
  report(1);
  EXPECT_EQ(reports_read(), 2);
  std::lock_guard lock(db->mutex);
  EXPECT_EQ(db->rows_counted, 0) << "the count only serves the cache";
}

TEST_F(ReportServiceTest, StopRunsWhatIsQueuedThenRefuses) {
  service();
  db->add_session(1);
  int ok = 0;
  for (int i = 0; i < 3; ++i) service_->session_report(1, 10, [&](auto r) { ok += r.outcome == ReportOutcome::kOk; });
  service_->stop();
  ioc.restart();
  ioc.poll();
  EXPECT_EQ(ok, 3);
  std::optional<ReportOutcome> late;
  service_->session_report(1, 10, [&](auto r) { late = r.outcome; });
  ASSERT_TRUE(run_until([&] { return late.has_value(); }));
  EXPECT_EQ(*late, ReportOutcome::kOverloaded);
}

}  // namespace
}  // namespace ringtrace::ms1
