// /start, /stop and /status and the session runner behind them, over fakes of the MS2 link and
// the database: a whole session, its refusals, shutdown, link drops, progress and drain.
#include "http_api_fixture.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using namespace ringtrace::ms1::fakes;

namespace {

TEST_P(HttpApiTest, StatusWhileIdle) {
  const auto response = ms1().call(http::verb::get, "/status");
  ASSERT_EQ(response.result(), http::status::ok);
  const auto body = body_of(response);
  EXPECT_EQ(body.at("state").as_string(), "idle");
  EXPECT_EQ(body.at("session_id").as_int64(), 0);
  EXPECT_EQ(body.at("sent").as_int64(), 0);
  EXPECT_EQ(body.at("in_flight").as_int64(), 0);
  EXPECT_EQ(body.at("elapsed_ms").as_int64(), 0);
  EXPECT_TRUE(body.at("ms2_connected").as_bool());
  EXPECT_TRUE(body.at("database_connected").as_bool());
  EXPECT_TRUE(body.at("last_session").is_null());
}

TEST_P(HttpApiTest, StartNeedsMs2AndTheDatabase) {
  ms1().link.up = false;
  auto response = ms1().call(http::verb::get, "/start");
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(body_of(response).at("error").as_string(), "MS2 is not reachable at ws://127.0.0.1:8081/ws (reconnecting)");
  ms1().link.up = true;
  ms1().db->set_down(true);
  ms1().db->fail_next("begin", Fault::kUnavailable);
  // The writer notices on its next job; the start it refuses leaves the session idle.
  response = ms1().call(http::verb::get, "/start");
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  const auto error = std::string(body_of(response).at("error").as_string());
  EXPECT_TRUE(error == "the database is not reachable (reconnecting)" || error.starts_with("cannot record the session: "))
      << error;
  EXPECT_EQ(body_of(ms1().call(http::verb::get, "/status")).at("state").as_string(), "idle");
  ASSERT_TRUE(ms1().run_until([&] { return !body_of(ms1().call(http::verb::get, "/healthz")).at("database_connected").as_bool(); }));
  response = ms1().call(http::verb::get, "/start");
  EXPECT_EQ(body_of(response).at("error").as_string(), "the database is not reachable (reconnecting)");
}

TEST_P(HttpApiTest, ASessionRunsStoresAndStops) {
  const auto id = start();
  ASSERT_EQ(ms1().link.frames.size(), 1u);

  auto response = ms1().call(http::verb::get, "/start");
  EXPECT_EQ(response.result(), http::status::conflict);
  auto body = body_of(response);
  EXPECT_EQ(body.at("error").as_string(), "a session is already running");
  EXPECT_EQ(body.at("session_id").as_int64(), id);
  EXPECT_EQ(body.at("state").as_string(), "running");

  const auto first = ms1().returned(0);
  response = ms1().call(http::verb::post, "/store", first, "application/json");
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  EXPECT_EQ(response.body(), R"({"stored":true})");
  ASSERT_EQ(ms1().link.frames.size(), 2u) << "the window refills";
  response = ms1().call(http::verb::post, "/store", first, "application/json");
  EXPECT_EQ(response.body(), R"({"stored":false,"duplicate":true})");

  body = body_of(ms1().call(http::verb::get, "/status"));
  EXPECT_EQ(body.at("state").as_string(), "running");
  EXPECT_EQ(body.at("sent").as_int64(), 2);
  EXPECT_EQ(body.at("stored").as_int64(), 1);
  EXPECT_EQ(body.at("in_flight").as_int64(), 1);

  // /stop drains: it is answered once the last message is stored and the session recorded.
  std::optional<common::HttpResponse> stopped;
  ms1().send(http::verb::get, "/stop", stopped);
  std::optional<common::HttpResponse> second_stop;
  ms1().send(http::verb::get, "/stop/", second_stop);
  EXPECT_EQ(body_of(ms1().call(http::verb::get, "/status")).at("state").as_string(), "draining");
  EXPECT_FALSE(stopped.has_value());
  EXPECT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(1)).result(), http::status::ok);
  ASSERT_TRUE(ms1().run_until([&] { return stopped.has_value() && second_stop.has_value(); }));
  EXPECT_EQ(stopped->result(), http::status::ok);
  body = body_of(*stopped);
  EXPECT_EQ(body.at("session_id").as_int64(), id);
  EXPECT_EQ(body.at("reason").as_string(), "stop");
  EXPECT_EQ(body.at("messages").as_int64(), 2);
  EXPECT_EQ(body.at("stored").as_int64(), 2);
  EXPECT_EQ(body.at("lost").as_int64(), 0);
  EXPECT_EQ(body.at("resent").as_int64(), 0);
  EXPECT_EQ(second_stop->body(), stopped->body());

  body = body_of(ms1().call(http::verb::get, "/status"));
  EXPECT_EQ(body.at("state").as_string(), "idle");
  EXPECT_EQ(body.at("last_session").as_object().at("session_id").as_int64(), id);
  EXPECT_EQ(ms1().db->log().back(), "finish " + std::to_string(id));
  EXPECT_EQ(ms1().db->rows().size(), 2u);
  const auto metrics = ms1().metrics_text();
  EXPECT_NE(metrics.find("ringtrace_messages_sent_total 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ringtrace_sessions_finished_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("ringtrace_store_requests_total{outcome=\"duplicate\"} 1"), std::string::npos);
  EXPECT_EQ(start(), id + 1) << "a new session may start once the last is recorded";
}

TEST_P(HttpApiTest, StopWithoutASessionIs409) {
  const auto response = ms1().call(http::verb::get, "/stop");
  EXPECT_EQ(response.result(), http::status::conflict);
  EXPECT_EQ(body_of(response).at("error").as_string(), "no session is running");
}

TEST_P(HttpApiTest, StartingIsReportedUntilTheIdArrives) {
  std::optional<common::HttpResponse> started;
  ms1().send(http::verb::get, "/start", started);  // the id comes back on the loop, not run until the end
  std::optional<common::HttpResponse> stopped;
  ms1().send(http::verb::get, "/stop", stopped);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->result(), http::status::conflict);
  EXPECT_EQ(body_of(*stopped).at("error").as_string(), "the session is still starting; retry");
  std::optional<common::HttpResponse> status;
  ms1().send(http::verb::get, "/status", status);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(body_of(*status).at("state").as_string(), "starting");
  std::optional<common::HttpResponse> again;
  ms1().send(http::verb::get, "/start", again);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->result(), http::status::conflict);
  EXPECT_EQ(body_of(*again).at("state").as_string(), "starting");
  ASSERT_TRUE(ms1().run_until([&] { return started.has_value(); }));
  EXPECT_EQ(started->result(), http::status::ok);
}

TEST_P(HttpApiTest, ShutdownEndsTheRunningSessionAndRecordsIt) {
  const auto id = start();
  bool idle = false;
  ms1().runner.shutdown([&] { idle = true; });
  EXPECT_FALSE(idle) << "one message is still in flight";
  auto response = ms1().call(http::verb::get, "/start");
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(body_of(response).at("error").as_string(), "MS1 is shutting down");
  EXPECT_EQ(ms1().call(http::verb::get, "/healthz").result(), http::status::service_unavailable);
  EXPECT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(0)).result(), http::status::ok);
  ASSERT_TRUE(ms1().run_until([&] { return idle; }));
  const auto body = body_of(ms1().call(http::verb::get, "/status"));
  EXPECT_EQ(body.at("last_session").as_object().at("session_id").as_int64(), id);
  EXPECT_EQ(body.at("last_session").as_object().at("reason").as_string(), "shutdown");
}

TEST_P(HttpApiTest, ShutdownWhileStartingAnswers503AndEnds) {
  std::optional<common::HttpResponse> started;
  ms1().send(http::verb::get, "/start", started);
  bool idle = false;
  ms1().runner.shutdown([&] { idle = true; });
  ASSERT_TRUE(ms1().run_until([&] { return idle && started.has_value(); }));
  EXPECT_EQ(started->result(), http::status::service_unavailable);
  EXPECT_EQ(body_of(*started).at("error").as_string(), "MS1 is shutting down");
  EXPECT_EQ(body_of(ms1().call(http::verb::get, "/status")).at("state").as_string(), "idle");
}

TEST_P(HttpApiTest, ShutdownWhileIdleIsImmediate) {
  bool idle = false;
  ms1().runner.shutdown([&] { idle = true; });
  EXPECT_TRUE(idle);
}

TEST_P(HttpApiTest, LinkDropResendsOnReconnectAtLeastOnce) {
  start();
  ms1().link.up = false;
  ms1().runner.on_link_down();
  ms1().link.up = true;
  ms1().runner.on_link_up();
  ASSERT_EQ(ms1().link.frames.size(), 2u);
  EXPECT_EQ(ms1().sent(0).id, ms1().sent(1).id) << "the same message again";
  EXPECT_EQ(ms1().sent(0).at(common::Hop::kMs1), ms1().sent(1).at(common::Hop::kMs1));
  EXPECT_EQ(body_of(ms1().call(http::verb::get, "/status")).at("resent").as_int64(), 1);
  EXPECT_NE(ms1().metrics_text().find("ringtrace_messages_resent_total 1"), std::string::npos);
}

TEST_P(HttpApiTest, ProgressLinesAndTheDurationEndASession) {
  auto config = test_config(GetParam());
  config.interaction.progress_interval_ms = 5;
  config.interaction.duration_seconds = 1;
  config.interaction.resend_timeout_ms = 40;  // MS2 never answers here: the message is resent
  config.interaction.drain_timeout_ms = 50;
  ms1_ = std::make_unique<FakeMs1>(config);
  ASSERT_TRUE(ms1().connected());
  ::testing::internal::CaptureStdout();
  std::optional<common::HttpResponse> started;
  ms1().send(http::verb::get, "/start", started);
  ASSERT_TRUE(ms1().run_until([&] { return ms1().link.frames.size() >= 2; }));
  EXPECT_EQ(ms1().sent(0).id, ms1().sent(1).id) << "late: sent again";
  EXPECT_EQ(ms1().call(http::verb::post, "/store", ms1().returned(1)).result(), http::status::ok);
  ASSERT_TRUE(ms1().run_until([&] { return ms1().runner.last_summary().has_value(); }));
  const auto out = ::testing::internal::GetCapturedStdout();
  const auto id = std::to_string(ms1().runner.last_summary()->session_id);
  EXPECT_NE(out.find("interaction started: session_id=" + id + " duration=1s window=1"), std::string::npos) << out;
  EXPECT_NE(out.find("interaction progress: session_id=" + id + " elapsed="), std::string::npos) << out;
  EXPECT_NE(out.find("interaction finished: session_id=" + id + " elapsed="), std::string::npos) << out;
  EXPECT_NE(out.find("reason=duration"), std::string::npos) << out;
  EXPECT_GE(ms1().runner.last_summary()->resent, 1);
}

TEST_P(HttpApiTest, DrainTimeoutWithTheDatabaseDownRecordsOnceItIsBack) {
  auto config = test_config(GetParam());
  config.interaction.drain_timeout_ms = 10;
  ms1_ = std::make_unique<FakeMs1>(config);
  ASSERT_TRUE(ms1().connected());
  start();
  std::optional<common::HttpResponse> stopped;
  ms1().send(http::verb::get, "/stop", stopped);
  ms1().db->set_down(true);
  ms1().db->fail_next("finish", Fault::kUnavailable);
  ASSERT_TRUE(ms1().run_until([&] {
    return body_of(ms1().call(http::verb::get, "/status")).at("state").as_string() == "finishing" &&
           !body_of(ms1().call(http::verb::get, "/healthz")).at("database_connected").as_bool();
  }));
  ms1().db->set_down(false);
  ASSERT_TRUE(ms1().run_until([&] { return stopped.has_value(); }));
  const auto body = body_of(*stopped);
  EXPECT_EQ(body.at("lost").as_int64(), 1);
  EXPECT_EQ(body.at("stored").as_int64(), 0);
  EXPECT_NE(ms1().metrics_text().find("ringtrace_messages_lost_total 1"), std::string::npos);
}

}  // namespace

namespace {

TEST_P(HttpApiTest, StartTakesTheDurationAndWindowOfItsSession) {
  auto body = body_of(ms1().call(http::verb::get, "/status"));
  EXPECT_EQ(body.at("duration_seconds").as_int64(), 60) << "before any session: the configuration's";
  EXPECT_EQ(body.at("window").as_int64(), 1);
  const auto response = ms1().call(http::verb::get, "/start?duration_seconds=30&window=3");
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  body = body_of(response);
  EXPECT_EQ(body.at("duration_seconds").as_int64(), 30);
  EXPECT_EQ(body.at("window").as_int64(), 3);
  EXPECT_EQ(ms1().link.frames.size(), 3u) << "the window asked for is kept full";
  body = body_of(ms1().call(http::verb::get, "/status"));
  EXPECT_EQ(body.at("duration_seconds").as_int64(), 30);
  EXPECT_EQ(body.at("window").as_int64(), 3);
  std::optional<common::HttpResponse> stopped;
  ms1().send(http::verb::get, "/stop", stopped);
  for (std::size_t i = 0; i < 3; ++i) ms1().call(http::verb::post, "/store", ms1().returned(i), "application/json");
  ASSERT_TRUE(ms1().run_until([&] { return stopped.has_value(); }));
  body = body_of(ms1().call(http::verb::get, "/status"));
  EXPECT_EQ(body.at("window").as_int64(), 3) << "after it: the last session's";
  // Only the parameter given is overridden.
  body = body_of(ms1().call(http::verb::get, "/start?window=2"));
  EXPECT_EQ(body.at("duration_seconds").as_int64(), 60);
  EXPECT_EQ(body.at("window").as_int64(), 2);
}

TEST_P(HttpApiTest, BadStartParametersAre400AndStartNothing) {
  const auto error = [&](std::string target) {
    const auto response = ms1().call(http::verb::get, std::move(target));
    EXPECT_EQ(response.result(), http::status::bad_request) << response.body();
    return std::string(body_of(response).at("error").as_string());
  };
  EXPECT_EQ(error("/start?duration_seconds=0"),
            "query parameter 'duration_seconds': expected an integer in [1, 86400], got '0'");
  EXPECT_EQ(error("/start?duration_seconds=86401").find("duration_seconds"), 17u);
  EXPECT_EQ(error("/start?window=65537"), "query parameter 'window': expected an integer in [1, 65536], got '65537'");
  EXPECT_EQ(error("/start/?window=abc").find("'window'"), 16u);
  EXPECT_EQ(error("/start?duration=5"), "unknown query parameter 'duration' (accepted: duration_seconds, window)");
  EXPECT_EQ(body_of(ms1().call(http::verb::get, "/status")).at("state").as_string(), "idle");
  EXPECT_TRUE(ms1().link.frames.empty());
}

}  // namespace
