// MS1 stores only messages it generated, on the real PostgreSQL and MariaDB: POST /store through
// MS1's own handlers (sockets left out) over the real store. A stranger's session or an id its
// session never sent is answered 422 and writes no row; a late message of a finished or
// interrupted session is stored up to the bound its row in `sessions` gives.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "http_api_fixture.hpp"  // tests/unit/ms1: MS1 over a given store, without sockets
#include "ringtrace/test/database.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using namespace ringtrace::ms1::fakes;
using test::Backend;
using test::Inspector;

namespace {

common::Message stamped(std::int64_t session, std::int64_t id) {
  common::Message m;
  m.session_id = session;
  m.id = id;
  for (auto& stamp : m.stamps) stamp = common::now_utc();
  return m;
}

class OwnMessagesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);  // the refusals log on purpose
    const auto config = test_config(false);
    naming_ = config.message.naming;
    ms1_ = std::make_unique<FakeMs1>(config, make_store(backend_.config(), naming_));
    ASSERT_TRUE(ms1_->connected()) << backend_.driver << " is required (scripts/infra.sh up)";
    // Another client, for the sessions an earlier MS1 left behind.
    store_ = make_store(backend_.config(), naming_);
    store_->connect();
    db_ = std::make_unique<Inspector>(backend_);
  }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }

  common::HttpResponse post(std::int64_t session, std::int64_t id) {
    return ms1_->call(http::verb::post, "/store", ms1_->returned(session, id));
  }
  std::string rows(std::int64_t session, const std::string& where = "") {
    return db_->scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(session) + where);
  }
  std::string sessions_row(std::int64_t session, const std::string& columns) {
    return db_->scalar("SELECT " + columns + " FROM sessions WHERE session_id=" + std::to_string(session));
  }
  bool counted(const std::string& outcome, int value) {
    return ms1_->metrics_text().find("ringtrace_store_requests_total{outcome=\"" + outcome + "\"} " +
                                     std::to_string(value) + "\n") != std::string::npos;
  }
  static std::string error_of(const common::HttpResponse& response) {
    return std::string(body_of(response).at("error").as_string());
  }

  Backend backend_{GetParam()};
  common::Naming naming_{};
  std::unique_ptr<FakeMs1> ms1_;
  std::unique_ptr<MessageStore> store_;
  std::unique_ptr<Inspector> db_;
};

}  // namespace

TEST_P(OwnMessagesTest, UnknownSessionIs422AndWritesNoRow) {
  const auto unknown = std::stoll(db_->scalar("SELECT COALESCE(MAX(session_id), 0) FROM sessions")) + 1000000;
  const auto response = post(unknown, 1);
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(error_of(response), "unknown session " + std::to_string(unknown));
  EXPECT_TRUE(counted("unknown_session", 1)) << ms1_->metrics_text();
  EXPECT_EQ(rows(unknown), "0");
}

TEST_P(OwnMessagesTest, IdBeyondWhatAFinishedSessionSentIs422AndWritesNoRow) {
  SessionSummary summary;
  summary.session_id = store_->begin_session({5, 4}, common::now_utc(), {});
  summary.reason = StopReason::kDuration;
  summary.sent = 10;
  summary.stored = 9;
  summary.lost = 1;
  summary.finished_at = common::now_utc();
  store_->finish_session(summary);
  const auto s = summary.session_id;

  auto response = post(s, 10);
  EXPECT_EQ(response.body(), R"({"stored":true})") << "a late message of a finished session is stored";
  response = post(s, 11);
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(error_of(response), "unknown message id 11 of session " + std::to_string(s));
  EXPECT_TRUE(counted("unknown_id", 1)) << ms1_->metrics_text();
  EXPECT_EQ(rows(s), "1");
  EXPECT_EQ(rows(s, " AND id=11"), "0");
}

TEST_P(OwnMessagesTest, InterruptedSessionTakesLateMessagesUpToStoredPlusWindow) {
  const auto s = store_->begin_session({5, 4}, common::now_utc(), {});
  store_->store(std::vector<StoreRow>{{stamped(s, 1), {}}, {stamped(s, 2), {}}, {stamped(s, 3), {}}});
  store_->close_interrupted_sessions();  // what the next MS1's first connection does
  ASSERT_EQ(sessions_row(s, "reason"), "interrupted");
  ASSERT_EQ(sessions_row(s, "sent"), "NULL") << "the dead MS1's count is unknown";
  // Tests run in parallel and each closes every open session: another may have closed ours
  // before its rows were written, so the bound is read from the row, not assumed to be 3 + 4.
  const auto bound = std::stoll(sessions_row(s, "stored + window_size"));
  ASSERT_GE(bound, 4);
  const auto stored_at_close = sessions_row(s, "stored");

  auto response = post(s, bound);
  EXPECT_EQ(response.result(), http::status::ok) << "a late message within the bound is stored";
  EXPECT_EQ(rows(s, " AND id=" + std::to_string(bound)), "1");
  response = post(s, bound + 1);
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(error_of(response), "unknown message id " + std::to_string(bound + 1) + " of session " + std::to_string(s));
  EXPECT_EQ(rows(s, " AND id>" + std::to_string(bound)), "0");
  EXPECT_EQ(sessions_row(s, "stored"), stored_at_close) << "the bound is the one recorded at close";
}

TEST_P(OwnMessagesTest, TheRunningSessionTakesOnlyTheIdsItSent) {
  const auto response = ms1_->call(http::verb::get, "/start");
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  const auto s = body_of(response).at("session_id").as_int64();
  ASSERT_EQ(ms1_->link.frames.size(), 1u);
  EXPECT_EQ(ms1_->call(http::verb::post, "/store", ms1_->returned(0)).body(), R"({"stored":true})");
  const auto refused = post(s, 5);
  EXPECT_EQ(refused.result(), http::status::unprocessable_entity);
  EXPECT_EQ(error_of(refused), "unknown message id 5 of session " + std::to_string(s));
  EXPECT_EQ(rows(s), "1");
}

TEST_P(OwnMessagesTest, StoresTheTraceOfTheStoreRequestOrNullWithoutTracing) {
  const auto started = ms1_->call(http::verb::get, "/start");
  ASSERT_EQ(started.result(), http::status::ok) << started.body();
  const auto s = body_of(started).at("session_id").as_int64();
  ASSERT_EQ(ms1_->call(http::verb::post, "/store", ms1_->returned(0)).body(), R"({"stored":true})");
  EXPECT_EQ(db_->scalar("SELECT trace_id FROM messages WHERE session_id=" + std::to_string(s)), "NULL")
      << "tracing is off: no span, no trace";

  // The same over an MS1 that traces: the row holds the /store server span's trace id.
  ms1_.reset();
  FakeMs1 traced(test_config(true), make_store(backend_.config(), naming_));
  ASSERT_TRUE(traced.connected());
  const auto again = traced.call(http::verb::get, "/start");
  ASSERT_EQ(again.result(), http::status::ok) << again.body();
  const auto t = body_of(again).at("session_id").as_int64();
  ASSERT_EQ(traced.call(http::verb::post, "/store", traced.returned(0)).body(), R"({"stored":true})");
  const auto trace = db_->scalar("SELECT trace_id FROM messages WHERE session_id=" + std::to_string(t));
  EXPECT_EQ(trace.size(), 32u) << trace;
  EXPECT_EQ(trace.find_first_not_of("0123456789abcdef"), std::string::npos) << trace;
  EXPECT_NE(trace, std::string(32, '0'));
}

INSTANTIATE_TEST_SUITE_P(Backends, OwnMessagesTest, ::testing::Values("postgresql", "mariadb"),
                         [](const auto& info) { return info.param; });
