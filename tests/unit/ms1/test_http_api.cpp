// MS1's HTTP front over fakes of the MS2 link and the database: routing, 404 and 405, the
// operational routes, and what the HTTP stack refuses before a handler sees it.
#include <array>
#include <atomic>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "ringtrace/common/http_listener.hpp"
#include "http_api_fixture.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using namespace ringtrace::ms1::fakes;

namespace {

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

/// Writes `raw` to MS1's port from a thread of its own and returns the response's status line,
/// while the test thread runs the loop.
std::string over_the_wire(FakeMs1& ms1, const std::string& raw) {
  using tcp = boost::asio::ip::tcp;
  auto listener = std::make_shared<common::HttpListener>(
      ms1.ioc(), tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}, ms1.api(),
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

/// POST /store with `authorization` (none when empty) straight into the API, answered.
common::HttpResponse store_with(FakeMs1& ms1, const std::string& body, const std::string& authorization) {
  common::HttpRequest request{http::verb::post, "/store", 11};
  request.set(http::field::content_type, "application/json");
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  request.body() = body;
  request.prepare_payload();
  std::optional<common::HttpResponse> out;
  ms1.api().handle(std::move(request), [&out](common::HttpResponse response) { out = std::move(response); });
  ms1.run_until([&] { return out.has_value(); });
  return out.value_or(common::HttpResponse{http::status::gateway_timeout, 11});
}

TEST_P(HttpApiTest, StoreWantsTheTokenOnceOneIsRequired) {
  common::MetricsRegistry registry;
  auto& unauthorized = registry.counter("unauthorized_total", "refused /store requests");
  const common::BearerAuth auth("s3cret");
  ms1().reassemble({auth, &unauthorized});
  start();
  const auto body = ms1().returned(0);
  for (const auto& [authorization, reason] :
       {std::pair{std::string(), "missing bearer token"}, std::pair{std::string("Basic s3cret"), "missing bearer token"},
        std::pair{std::string("Bearer s3cre"), "wrong bearer token"},
        std::pair{std::string("Bearer s3cret2"), "wrong bearer token"}}) {
    const auto response = store_with(ms1(), body, authorization);
    EXPECT_EQ(response.result(), http::status::unauthorized) << authorization;
    EXPECT_EQ(response[http::field::www_authenticate], "Bearer");
    EXPECT_EQ(body_of(response).at("error").as_string(), reason) << authorization;
  }
  EXPECT_EQ(unauthorized.value(), 4u);
  EXPECT_TRUE(ms1().db->rows().empty()) << "nothing of a refused request is stored";
  // Checked before the body: a refused request is never decoded, so garbage gets 401 too.
  EXPECT_EQ(store_with(ms1(), "not json", "").result(), http::status::unauthorized);

  const auto response = store_with(ms1(), body, "bearer s3cret");
  EXPECT_EQ(response.result(), http::status::ok) << response.body();
  EXPECT_EQ(ms1().db->rows().size(), 1u);
  EXPECT_EQ(unauthorized.value(), 5u);
}

TEST_P(HttpApiTest, OnlyStoreIsGuarded) {
  common::MetricsRegistry registry;
  ms1().reassemble({common::BearerAuth("s3cret"), &registry.counter("unauthorized_total", "refused")});
  EXPECT_EQ(ms1().call(http::verb::get, "/status").result(), http::status::ok);
  EXPECT_EQ(ms1().call(http::verb::get, "/healthz").result(), http::status::ok);
  EXPECT_EQ(ms1().call(http::verb::get, "/metrics").result(), http::status::ok);
  start();  // checks its 200
  EXPECT_EQ(ms1().call(http::verb::get, "/store").result(), http::status::method_not_allowed);
}

TEST_P(HttpApiTest, WithoutATokenStoreIsOpen) {
  start();
  EXPECT_EQ(store_with(ms1(), ms1().returned(0), "").result(), http::status::ok);
  EXPECT_EQ(store_with(ms1(), ms1().returned(0), "Bearer anything").result(), http::status::ok);
}

}  // namespace

namespace {

/// Report routes that answer with the route and the target they were given, to see where
/// HttpApi sends a request.
struct EchoReports final : ReportRoutes {
  void list(std::string_view target, common::Responder respond) override { echo("list", target, respond); }
  void report(std::string_view target, common::Responder respond) override { echo("report", target, respond); }
  static void echo(const char* route, std::string_view target, const common::Responder& respond) {
    respond(common::json_response(http::status::ok, "\"" + std::string(route) + " " + std::string(target) + "\""));
  }
};

TEST_P(HttpApiTest, ReportRoutesAre503UntilServed) {
  const auto response = ms1().call(http::verb::get, "/sessions");
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(body_of(response).at("error").as_string(), "/sessions is not served by this MS1");
}

TEST_P(HttpApiTest, ReportRoutesGoToTheirHandler) {
  EchoReports reports;
  ms1().reassemble({.reports = &reports});
  const auto answer = [&](std::string target) { return ms1().call(http::verb::get, std::move(target)).body(); };
  EXPECT_EQ(answer("/sessions?limit=3"), "\"list /sessions?limit=3\"");
  EXPECT_EQ(answer("/sessions/4"), "\"report /sessions/4\"");
  auto response = ms1().call(http::verb::post, "/sessions/4");
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "GET");
  EXPECT_EQ(ms1().call(http::verb::get, "/sessions/4/x").result(), http::status::not_found);
}

TEST_P(HttpApiTest, ThePageAndTheTracesAreNotMs1s) {
  // The gateway serves the dashboard's files and relays the traces to Jaeger; MS1 has no such route.
  EchoReports reports;
  ms1().reassemble({.reports = &reports});
  for (const char* target : {"/", "/?x=1", "/assets/dashboard.js", "/traces/0123456789abcdef0123456789abcdef"}) {
    const auto response = ms1().call(http::verb::get, target);
    EXPECT_EQ(response.result(), http::status::not_found) << target;
    EXPECT_EQ(body_of(response).at("error").as_string(), std::string("no route GET ") + target) << target;
  }
}

}  // namespace
