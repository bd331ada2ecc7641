// MS1's HTTP API over fakes of the MS2 link and the database: every route, its status codes and
// bodies, and the bad requests MS3 or an operator might send.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>

#include "ringtrace/common/http_listener.hpp"
#include <spdlog/spdlog.h>

#include "ms1_fakes.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using fakes::FakeMs1;
using fakes::test_config;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

json::object body_of(const common::HttpResponse& response) { return json::parse(response.body()).as_object(); }

class HttpApiTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);  // refusals log on purpose
    ms1_ = std::make_unique<FakeMs1>(test_config(GetParam()));
    ASSERT_TRUE(ms1_->connected());
  }
  FakeMs1& ms1() { return *ms1_; }

  /// Starts a session and checks the 200 it answers.
  std::int64_t start() {
    const auto response = ms1().call(http::verb::get, "/start");
    EXPECT_EQ(response.result(), http::status::ok) << response.body();
    const auto body = body_of(response);
    EXPECT_EQ(body.at("state").as_string(), "running");
    EXPECT_EQ(body.at("duration_seconds").as_int64(), 60);
    EXPECT_EQ(body.at("window").as_int64(), 1);
    return body.at("session_id").as_int64();
  }

  std::unique_ptr<FakeMs1> ms1_;
};

INSTANTIATE_TEST_SUITE_P(Tracing, HttpApiTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "traced" : "untraced"; });

TEST_P(HttpApiTest, UnknownRouteIs404) {
  const auto response = ms1().call(http::verb::get, "/nope?x=1");
  EXPECT_EQ(response.result(), http::status::not_found);
  EXPECT_EQ(body_of(response).at("error").as_string(), "no route GET /nope?x=1");
  EXPECT_EQ(response[http::field::content_type], "application/json");
}

TEST_P(HttpApiTest, WrongMethodIs405WithAllow) {
  auto response = ms1().call(http::verb::post, "/start");
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "GET");
  EXPECT_EQ(body_of(response).at("error").as_string(), "POST is not allowed on /start");
  response = ms1().call(http::verb::get, "/store");
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "POST");
  response = ms1().call(http::verb::delete_, "/status");
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
}

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

TEST_P(HttpApiTest, HealthFollowsTheLinkAndTheDatabase) {
  auto response = ms1().call(http::verb::get, "/healthz");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), R"({"status":"ok","ms2_connected":true,"database_connected":true})");
  ms1().link.up = false;
  response = ms1().call(http::verb::get, "/healthz");
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(response.body(), R"({"status":"degraded","ms2_connected":false,"database_connected":true})");
}

TEST_P(HttpApiTest, MetricsPageNamesEverySeries) {
  const auto response = ms1().call(http::verb::get, "/metrics");
  ASSERT_EQ(response.result(), http::status::ok);
  for (const char* name :
       {"ringtrace_messages_sent_total", "ringtrace_store_requests_total{outcome=\"stored\"}",
        "ringtrace_messages_in_flight", "ringtrace_sessions_finished_total", "ringtrace_messages_resent_total",
        "ringtrace_messages_lost_total", "ringtrace_hop_latency_seconds_bucket", "ringtrace_ms2_connected 1",
        "ringtrace_ms2_connects_total 1", "ringtrace_database_connected 1", "ringtrace_database_connects_total",
        "ringtrace_database_queue_depth"}) {
    EXPECT_NE(response.body().find(name), std::string::npos) << name;
  }
}

TEST_P(HttpApiTest, StartNeedsMs2AndTheDatabase) {
  ms1().link.up = false;
  auto response = ms1().call(http::verb::get, "/start");
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(body_of(response).at("error").as_string(), "MS2 is not reachable at ws://127.0.0.1:8081/ws (reconnecting)");
  ms1().link.up = true;
  {
    std::lock_guard lock(ms1().db.mutex);
    ms1().db.down = true;
  }
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
  {
    std::lock_guard lock(ms1().db.mutex);
    ASSERT_EQ(ms1().db.finished.size(), 1u);
    EXPECT_EQ(ms1().db.rows.size(), 2u);
  }
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

TEST_P(HttpApiTest, BadStoreBodiesAreRefused) {
  struct Case {
    std::string body;
    std::string type;
    http::status status;
  };
  common::Message m;
  m.id = 1;
  m.session_id = 1;
  m.at(common::Hop::kMs1) = common::now_utc();  // no MS2 or MS3 stamp: it skipped hops
  const std::vector<Case> cases = {
      {"{not json", "application/json", http::status::bad_request},
      {R"({"id":"1","session_id":1})", "application/json", http::status::bad_request},
      {R"({"id":1,"session_id":true})", "", http::status::bad_request},
      {"[1,2]", "", http::status::bad_request},
      {common::encode(m, common::Naming::kService), "text/plain", http::status::unsupported_media_type},
      {common::encode(m, common::Naming::kService), "application/json", http::status::unprocessable_entity},
  };
  for (const auto& c : cases) {
    const auto response = ms1().call(http::verb::post, "/store", c.body, c.type);
    EXPECT_EQ(response.result(), c.status) << c.body;
    EXPECT_TRUE(body_of(response).at("error").is_string()) << c.body;
  }
  auto old = m;
  old.at(common::Hop::kMs1) = *common::parse_timestamp("0999-01-01T00:00:00.000000Z");
  const auto response = ms1().call(http::verb::post, "/store", common::encode(old, common::Naming::kService));
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_NE(response.body().find("before the year 1000"), std::string::npos);
  EXPECT_NE(ms1().metrics_text().find("ringtrace_store_requests_total{outcome=\"rejected\"} 7"), std::string::npos);
}

TEST_P(HttpApiTest, DatabaseOutcomesMapTo422And503) {
  start();
  {
    std::lock_guard lock(ms1().db.mutex);
    ms1().db.refused.insert(1);
  }
  auto response = ms1().call(http::verb::post, "/store", ms1().returned(0));
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(body_of(response).at("error").as_string(), "the database refused the message");
  {
    std::lock_guard lock(ms1().db.mutex);
    ms1().db.refused.clear();
    ms1().db.down = true;
  }
  response = ms1().call(http::verb::post, "/store", ms1().returned(0));
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(response[http::field::retry_after], "1");
  EXPECT_EQ(body_of(response).at("error").as_string(), "database unavailable, retry later");
  EXPECT_NE(ms1().metrics_text().find("ringtrace_store_requests_total{outcome=\"unavailable\"} 1"), std::string::npos);
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
  EXPECT_NE(out.find("interaction started: session_id=1 duration=1s window=1"), std::string::npos) << out;
  EXPECT_NE(out.find("interaction progress: session_id=1 elapsed="), std::string::npos) << out;
  EXPECT_NE(out.find("interaction finished: session_id=1 elapsed="), std::string::npos) << out;
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
  {
    std::lock_guard lock(ms1().db.mutex);
    ms1().db.down = true;
  }
  ASSERT_TRUE(ms1().run_until([&] {
    return body_of(ms1().call(http::verb::get, "/status")).at("state").as_string() == "finishing" &&
           !body_of(ms1().call(http::verb::get, "/healthz")).at("database_connected").as_bool();
  }));
  {
    std::lock_guard lock(ms1().db.mutex);
    ms1().db.down = false;
  }
  ASSERT_TRUE(ms1().run_until([&] { return stopped.has_value(); }));
  const auto body = body_of(*stopped);
  EXPECT_EQ(body.at("lost").as_int64(), 1);
  EXPECT_EQ(body.at("stored").as_int64(), 0);
  EXPECT_NE(ms1().metrics_text().find("ringtrace_messages_lost_total 1"), std::string::npos);
}

/// Writes `raw` to MS1's port from a thread of its own and returns the response's status line,
/// while the test thread runs the loop.
std::string over_the_wire(FakeMs1& ms1, const std::string& raw) {
  using tcp = boost::asio::ip::tcp;
  auto listener = std::make_shared<common::HttpListener>(
      ms1.ioc(), tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}, ms1.api,
      common::HttpLimits{1024, std::chrono::seconds(2)});
  listener->run();
  const auto port = listener->local_endpoint().port();
  std::atomic<bool> done{false};
  std::string reply;
  std::thread client([&] {
    boost::asio::io_context io;
    tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    if (!ec) boost::asio::write(socket, boost::asio::buffer(raw), ec);
    std::array<char, 4096> buffer{};
    const auto n = ec ? 0 : socket.read_some(boost::asio::buffer(buffer), ec);
    reply.assign(buffer.data(), n);
    done = true;
  });
  ms1.run_until([&] { return done.load(); });
  client.join();
  listener->stop();
  return reply.substr(0, reply.find("\r\n"));
}

TEST_P(HttpApiTest, OversizedBodyIs413) {
  const std::string body(4096, 'x');
  const auto status = over_the_wire(ms1(), "POST /store HTTP/1.1\r\nHost: ms1\r\nContent-Type: application/json\r\n"
                                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(status, "HTTP/1.1 413 Payload Too Large");
  EXPECT_NE(ms1().metrics_text().find("ringtrace_store_requests_total{outcome=\"rejected\"} 0"), std::string::npos)
      << "refused before the handler";
}

TEST_P(HttpApiTest, MalformedRequestIs400) {
  EXPECT_EQ(over_the_wire(ms1(), "GARBAGE\r\n\r\n"), "HTTP/1.1 400 Bad Request");
}

TEST_P(HttpApiTest, StatusOverTheWire) {
  EXPECT_EQ(over_the_wire(ms1(), "GET /status HTTP/1.1\r\nHost: ms1\r\n\r\n"), "HTTP/1.1 200 OK");
}

}  // namespace
