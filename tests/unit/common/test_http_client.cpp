/// @file
/// The common HTTP client against the fake server on 127.0.0.1: time limit, kept-alive
/// connection, reconnects, resends, pipelining, header safety.

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/http_client.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/test/fake_http_server.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::common {
namespace {

using namespace std::chrono_literals;
using test::AfterAnswer;
using test::FakeHttpServer;
using test::FakeResponse;
using test::ReceivedRequest;

Endpoint local(std::uint16_t port) { return {"127.0.0.1", std::to_string(port), "/store"}; }

HttpClientOptions options(std::chrono::milliseconds timeout, bool resend_on_stale = true) {
  return HttpClientOptions{timeout, "ringtrace-test", "test", resend_on_stale};
}

PostRequest json(std::string_view body, std::string_view traceparent = {}) {
  return PostRequest{body, "application/json", traceparent};
}

/// Answers the first request of the first connection, then reads the second and hangs up without
/// answering, as a server that dies mid-request does; later connections get every answer.
void hang_up_on_the_second_request(FakeHttpServer& server) {
  server.set_responder([](const ReceivedRequest& request) {
    FakeResponse response;
    if (request.connection == 0 && request.index == 1) response.after = AfterAnswer::kHangUp;
    return response;
  });
}

TEST(HttpClient, CapturesTheNamedAnswerHeaderAndStampsWallTimes) {
  FakeHttpServer server;
  int n = 0;
  server.set_responder([&n](const ReceivedRequest&) {
    FakeResponse response;
    if (n++ != 1) response.headers.emplace_back("Ringtrace-Clock", "1790000000000001 1790000000000002");
    return response;
  });
  std::atomic<bool> abort{false};
  auto with_capture = options(2s);
  with_capture.capture_header = "ringtrace-clock";  // header names are case-insensitive
  HttpClient client(local(server.port()), with_capture, abort);
  const auto before = now_utc();
  const auto results = client.post_all({json("{}"), json("{}"), json("{}")});
  const auto after = now_utc();
  ASSERT_EQ(results.size(), 3u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_FALSE(results[i].ec) << results[i].ec.message();
    EXPECT_EQ(results[i].captured, i == 1 ? "" : "1790000000000001 1790000000000002") << i;
    EXPECT_LE(before, results[i].sent_at);
    EXPECT_EQ(results[i].sent_at, results[0].sent_at) << "one t1 for the whole pipeline";
    EXPECT_LE(results[i].sent_at, results[i].answered_at);
    EXPECT_LE(results[i].answered_at, after);
    if (i > 0) {
      EXPECT_LE(results[i - 1].answered_at, results[i].answered_at);
    }
  }
  HttpClient plain(local(server.port()), options(2s), abort);
  EXPECT_EQ(plain.post(json("{}")).captured, "") << "nothing captured unless asked";
}

TEST(HttpClient, SendsTheClockHeaderWhenGivenAndSafe) {
  FakeHttpServer server;
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s), abort);
  const std::string good = "offset_us=-5;uncertainty_us=3;samples=2";
  std::vector<PostRequest> requests = {json("{}"), json("{}"), json("{}")};
  requests[0].clock = good;
  requests[2].clock = "offset_us=1\r\nX-Evil: 1";
  for (const auto& result : client.post_all(requests)) ASSERT_FALSE(result.ec) << result.ec.message();
  const auto received = server.requests();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].clock, good);
  EXPECT_EQ(received[1].clock, "") << "none given, none sent";
  EXPECT_EQ(received[2].clock, "") << "a value that could break the request apart is left out";
}

TEST(HttpClient, KeepsOneConnectionAlive) {
  FakeHttpServer server;
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s), abort);
  for (int i = 0; i < 3; ++i) {
    const auto body = R"({"n":)" + std::to_string(i) + "}";
    auto result = client.post(json(body));
    ASSERT_FALSE(result.ec) << result.ec.message();
    EXPECT_EQ(result.status, 200u);
    EXPECT_EQ(result.body, R"({"stored":true})");
  }
  EXPECT_EQ(server.connections(), 1u);
}

TEST(HttpClient, ReconnectsAtOnceWhenTheServerDroppedTheIdleConnection) {
  FakeHttpServer server;
  server.drop_connections(true);
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s), abort);
  ASSERT_EQ(client.post(json("{}")).status, 200u);
  ASSERT_TRUE(test::eventually([&] { return server.connections() == 1; }, 2s));
  auto second = client.post(json("{}"));
  ASSERT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpClient, ReportsRefusedConnection) {
  std::atomic<bool> abort{false};
  HttpClient client(local(test::free_port()), options(2s), abort);
  auto result = client.post(json("{}"));
  EXPECT_EQ(result.ec, boost::asio::error::connection_refused) << result.ec.message();
}

TEST(HttpClient, GivesUpOnASilentServerWithinTheTimeLimit) {
  test::SilentServer silent;  // the kernel completes the handshake into the backlog, but nobody answers
  std::atomic<bool> abort{false};
  HttpClient client(local(silent.port()), options(300ms), abort);
  const auto started = std::chrono::steady_clock::now();
  auto result = client.post(json("{}"));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(result.ec, boost::beast::error::timeout) << result.ec.message();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
}

TEST(HttpClient, AbortCancelsARequestInFlight) {
  test::SilentServer silent;
  std::atomic<bool> abort{true};
  HttpClient client(local(silent.port()), options(10s), abort);
  const auto started = std::chrono::steady_clock::now();
  auto result = client.post(json("{}"));
  EXPECT_TRUE(result.ec);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(HttpClient, SendsARequestAgainWhenItsConnectionClosedUnderIt) {
  FakeHttpServer server;
  hang_up_on_the_second_request(server);
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s), abort);
  ASSERT_EQ(client.post(json("{}")).status, 200u);
  auto second = client.post(json("{}"));
  ASSERT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(server.requests().size(), 3u) << "the hung-up request is sent once more on a new connection";
}

TEST(HttpClient, AtMostOnceNeverSendsARequestTwice) {
  FakeHttpServer server;
  hang_up_on_the_second_request(server);
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s, /*resend_on_stale=*/false), abort);
  ASSERT_EQ(client.post(json("{}")).status, 200u);
  auto second = client.post(json("{}"));
  EXPECT_TRUE(second.ec) << "the server may have processed it: report, do not resend";
  EXPECT_EQ(server.requests().size(), 2u);
  // The next request gets a fresh connection.
  EXPECT_EQ(client.post(json("{}")).status, 200u);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(HttpClient, PipelinesRequestsAndReadsTheAnswersInOrder) {
  constexpr std::size_t kRequests = 40;
  FakeHttpServer server;
  server.answer_after(kRequests);  // a client waiting for an answer before the next request never gets one
  server.set_responder([](const ReceivedRequest& request) {
    return FakeResponse{200, "{\"n\":" + std::to_string(request.index) + "}", AfterAnswer::kKeepAlive};
  });
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s), abort);
  std::vector<std::string> traceparents;
  for (std::size_t i = 0; i < kRequests; ++i) {
    traceparents.push_back(fmt::format("00-{:032x}-{:016x}-01", i + 1, i + 1));
  }
  std::vector<PostRequest> requests;
  for (const auto& tp : traceparents) requests.push_back(json("{}", tp));
  const auto results = client.post_all(requests);
  ASSERT_EQ(results.size(), kRequests);
  for (std::size_t i = 0; i < kRequests; ++i) {
    ASSERT_FALSE(results[i].ec) << i << ": " << results[i].ec.message();
    EXPECT_EQ(results[i].status, 200u);
    EXPECT_EQ(results[i].body, "{\"n\":" + std::to_string(i) + "}") << "answers are matched to requests in order";
  }
  const auto received = server.received();
  std::size_t at = 0;
  for (const auto& tp : traceparents) {
    at = received.find("traceparent: " + tp + "\r\n", at);
    ASSERT_NE(at, std::string::npos) << tp << " missing or out of order";
  }
  EXPECT_NE(received.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(received.find("User-Agent: ringtrace-test\r\n"), std::string::npos);
}

TEST(HttpClient, PipelineBehindAClosedConnectionFailsAfterTheLastAnswer) {
  FakeHttpServer server;
  server.drop_connections(true);  // answers one request per connection, then hangs up
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s), abort);
  const auto results = client.post_all({json("{}"), json("{}"), json("{}")});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_FALSE(results[0].ec) << results[0].ec.message();
  EXPECT_EQ(results[0].status, 200u);
  EXPECT_TRUE(results[1].ec) << "the server hung up before answering";
  EXPECT_TRUE(results[2].ec);
  EXPECT_EQ(server.requests().size(), 1u);
  // The connection is replaced for the next pipeline.
  EXPECT_EQ(client.post(json("{}")).status, 200u);
}

TEST(HttpClient, NeverWritesALineBreakIntoAHeader) {
  FakeHttpServer server;
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s), abort);
  const auto results = client.post_all({json("{}", "00-x\r\nInjected: yes")});
  ASSERT_FALSE(results[0].ec) << results[0].ec.message();
  EXPECT_EQ(server.received().find("Injected"), std::string::npos);
}

TEST(HttpClient, SendsItsConfiguredHeadersOnEveryRequest) {
  FakeHttpServer server;
  std::atomic<bool> abort{false};
  auto with_token = options(2s);
  with_token.headers = {{"Authorization", "Bearer abc"}};
  HttpClient client(local(server.port()), with_token, abort);
  const auto results = client.post_all({json("{}"), json("{}"), json("{}")});
  ASSERT_EQ(results.size(), 3u);
  const auto received = server.received();
  std::size_t count = 0;
  for (auto at = received.find("\r\nAuthorization: Bearer abc\r\n"); at != std::string::npos;
       at = received.find("\r\nAuthorization: Bearer abc\r\n", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << received;
}

TEST(HttpClient, RefusesAHeaderThatWouldBreakTheRequestApart) {
  std::atomic<bool> abort{false};
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"Authorization", "Bearer a\r\nInjected: yes"}, {"Bad Name", "x"}, {"", "x"}, {"X-Nul", std::string("a\0b", 3)}}) {
    auto bad = options(2s);
    bad.headers = {{name, value}};
    EXPECT_THROW(HttpClient(local(1), bad, abort), std::invalid_argument) << name;
  }
}

TEST(HttpClient, SendsTheContentTypeItIsGivenAndALargeBodyIntact) {
  FakeHttpServer server;
  std::atomic<bool> abort{false};
  HttpClient client(local(server.port()), options(2s), abort);
  const std::string body(300'000, 'b');
  const auto result = client.post(PostRequest{body, "application/x-protobuf", {}});
  ASSERT_FALSE(result.ec) << result.ec.message();
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].content_type, "application/x-protobuf");
  EXPECT_EQ(requests[0].body, body);
  EXPECT_EQ(client.url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/store");
}

}  // namespace
}  // namespace ringtrace::common

namespace ringtrace::common {
namespace {

TEST(HttpClient, GetsATargetOnTheEndpointsHost) {
  test::FakeHttpServer server;
  server.set_responder([](const test::ReceivedRequest& r) {
    return test::FakeResponse{r.method == "GET" ? 200u : 405u, std::string(100 * 1024, 'x')};
  });
  std::atomic<bool> abort{false};
  HttpClientOptions options;
  options.max_response_bytes = 1024 * 1024;
  HttpClient client({"127.0.0.1", std::to_string(server.port()), "/store"}, options, abort);
  const auto result = client.get("/api/traces/abc");
  ASSERT_FALSE(result.ec) << result.ec.message();
  EXPECT_EQ(result.status, 200u);
  EXPECT_EQ(result.body.size(), 100u * 1024) << "larger than the default limit, within the option's";
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/api/traces/abc");
  EXPECT_TRUE(server.requests()[0].body.empty());
  // A POST on the same client still goes to the endpoint's own target.
  EXPECT_EQ(client.post(PostRequest{"{}", "application/json", {}}).status, 405u);
  EXPECT_EQ(server.requests()[1].target, "/store");
  EXPECT_EQ(client.get("no-slash").ec, boost::asio::error::invalid_argument);
  EXPECT_EQ(client.get("/a\r\nInjected: 1").ec, boost::asio::error::invalid_argument);
}

TEST(HttpClient, TheDefaultResponseLimitHolds) {
  test::FakeHttpServer server;
  server.set_responder([](const test::ReceivedRequest&) { return test::FakeResponse{200, std::string(100 * 1024, 'x')}; });
  std::atomic<bool> abort{false};
  HttpClient client({"127.0.0.1", std::to_string(server.port()), "/"}, HttpClientOptions{}, abort);
  EXPECT_TRUE(client.get("/big").ec);
}

}  // namespace
}  // namespace ringtrace::common
