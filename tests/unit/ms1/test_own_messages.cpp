// MS1 stores only messages it generated: the controller's verdict on its own session, and
// POST /store's answers for every kind of stranger, over the fake database.
#include <algorithm>
#include <set>
#include <string>

#include "fake_session_port.hpp"
#include "http_api_fixture.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using namespace ringtrace::ms1::fakes;

namespace {

common::Message message(std::int64_t session, std::int64_t id) {
  common::Message m;
  m.session_id = session;
  m.id = id;
  return m;
}

/// True when the metrics page shows `value` for the /store outcome `outcome`.
bool counted(const FakeMs1& ms1, const std::string& outcome, int value) {
  return ms1.metrics_text().find("ringtrace_store_requests_total{outcome=\"" + outcome + "\"} " +
                                 std::to_string(value) + "\n") != std::string::npos;
}

std::string error_of(const common::HttpResponse& response) {
  return std::string(body_of(response).at("error").as_string());
}

}  // namespace

TEST(OwnMessages, TheControllerKnowsTheIdsItsSessionSent) {
  FakePort port;  // never records: the session stays finishing until recorded() below
  SessionController c(port);
  EXPECT_EQ(c.classify(message(1, 1)), MessageOrigin::kOther) << "no session yet";
  ASSERT_TRUE(c.start(7, {10, 3}, t0));
  EXPECT_EQ(c.classify(message(7, 1)), MessageOrigin::kOwn);
  EXPECT_EQ(c.classify(message(7, 3)), MessageOrigin::kOwn);
  EXPECT_EQ(c.classify(message(7, 4)), MessageOrigin::kNotSent);
  EXPECT_EQ(c.classify(message(7, 0)), MessageOrigin::kNotSent);
  EXPECT_EQ(c.classify(message(7, -1)), MessageOrigin::kNotSent);
  EXPECT_EQ(c.classify(message(8, 1)), MessageOrigin::kOther);

  port.link_up = false;  // #4 cannot go out: it is generated only once the link takes it
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[0]), t0));
  EXPECT_EQ(c.classify(message(7, 4)), MessageOrigin::kNotSent);
  port.link_up = true;
  c.on_link_up(t0);
  EXPECT_EQ(c.classify(message(7, 4)), MessageOrigin::kOwn);

  // Draining, finishing and idle: still its session, until the next one begins.
  c.stop(StopReason::kStopped, t0);
  EXPECT_EQ(c.classify(message(7, 2)), MessageOrigin::kOwn);
  c.on_drain_timeout(t0);
  ASSERT_EQ(c.state(), SessionState::kFinishing);
  EXPECT_EQ(c.classify(message(7, 4)), MessageOrigin::kOwn);
  EXPECT_EQ(c.classify(message(7, 5)), MessageOrigin::kNotSent);
  c.recorded();
  ASSERT_TRUE(c.begin_start());
  EXPECT_EQ(c.classify(message(7, 4)), MessageOrigin::kOwn);
  ASSERT_TRUE(c.start(9, {10, 1}, t0));
  EXPECT_EQ(c.classify(message(7, 4)), MessageOrigin::kOther) << "the sessions table decides from now on";
  EXPECT_EQ(c.classify(message(9, 1)), MessageOrigin::kOwn);
}

TEST_P(HttpApiTest, MessagesMs1NeverGeneratedAreRefusedWith422) {
  const auto session = start();
  ASSERT_EQ(ms1().link.frames.size(), 1u);

  auto response = ms1().call(http::verb::post, "/store", ms1().returned(session, 2));
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(error_of(response), "unknown message id 2 of session " + std::to_string(session));
  EXPECT_TRUE(counted(ms1(), "unknown_id", 1)) << ms1().metrics_text();

  response = ms1().call(http::verb::post, "/store", ms1().returned(424242, 1));
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(error_of(response), "unknown session 424242");
  EXPECT_TRUE(counted(ms1(), "unknown_session", 1)) << ms1().metrics_text();

  ms1().db->set_session(7, 3);  // an earlier session that sent 3
  response = ms1().call(http::verb::post, "/store", ms1().returned(7, 3));
  EXPECT_EQ(response.result(), http::status::ok) << "a late message of a closed session is stored";
  response = ms1().call(http::verb::post, "/store", ms1().returned(7, 4));
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(error_of(response), "unknown message id 4 of session 7");
  EXPECT_TRUE(counted(ms1(), "unknown_id", 2));

  EXPECT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(0)).result(), http::status::ok);
  EXPECT_EQ(ms1().db->rows(), (std::set<Key>{{7, 3}, {session, 1}}));
  EXPECT_TRUE(counted(ms1(), "rejected", 0)) << "refusals of strangers are not counted as rejected";
  const auto log = ms1().db->log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "bound " + std::to_string(session)), 0)
      << "the running session is checked on the event loop, not in the database";
}

TEST_P(HttpApiTest, LateMessagesOfTheLastSessionAreStoredItsUnsentIdsNot) {
  const auto first = start();
  ASSERT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(0)).result(), http::status::ok);
  std::optional<common::HttpResponse> stopped;
  ms1().send(http::verb::get, "/stop", stopped);
  ASSERT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(1)).result(), http::status::ok);
  ASSERT_TRUE(ms1().run_until([&] { return stopped.has_value(); }));  // finished with 2 sent

  // Idle: a repeat of a message of the last session is still its own.
  EXPECT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(1)).body(), R"({"stored":false,"duplicate":true})");
  EXPECT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(first, 3)).result(),
            http::status::unprocessable_entity);

  // Once another session runs, the first one's row decides: its `sent` is the bound.
  const auto second = start();
  ASSERT_NE(second, first);
  EXPECT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(first, 2)).body(),
            R"({"stored":false,"duplicate":true})");
  const auto response = ms1().call(http::verb::post, "/store", ms1().returned(first, 3));
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(error_of(response), "unknown message id 3 of session " + std::to_string(first));
  const auto log = ms1().db->log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "bound " + std::to_string(first)), 1);
  EXPECT_TRUE(counted(ms1(), "unknown_id", 2));
}
