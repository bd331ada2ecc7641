/// @file
/// MS3's HTTP client against local servers: time limit, kept-alive connection, reconnects. No broker needed.

#include <atomic>
#include <mutex>
#include <vector>
#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/ms3/http_poster.hpp"
#include "store_server.hpp"

namespace ringtrace::ms3 {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;

common::Endpoint local(std::uint16_t port) { return {"127.0.0.1", std::to_string(port), "/store"}; }

TEST(HttpPoster, KeepsOneConnectionAlive) {
  test::StoreServer server;
  std::atomic<bool> abort{false};
  HttpPoster poster(local(server.port()), 2s, abort);
  for (int i = 0; i < 3; ++i) {
    auto result = poster.post(R"({"n":)" + std::to_string(i) + "}");
    ASSERT_FALSE(result.ec) << result.ec.message();
    EXPECT_EQ(result.status, 200u);
    EXPECT_EQ(result.body, R"({"stored":true})");
  }
  EXPECT_EQ(server.connections(), 1u);
}

TEST(HttpPoster, ReconnectsAtOnceWhenTheServerDroppedTheIdleConnection) {
  test::StoreServer server;
  server.drop_connections(true);
  std::atomic<bool> abort{false};
  HttpPoster poster(local(server.port()), 2s, abort);
  ASSERT_EQ(poster.post("{}").status, 200u);
  ASSERT_TRUE(server.wait_until([](const test::StoreServer& s) { return s.connections() == 1; }, 2s));
  auto second = poster.post("{}");
  ASSERT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpPoster, ReportsRefusedConnection) {
  std::atomic<bool> abort{false};
  HttpPoster poster(local(test::free_port()), 2s, abort);
  auto result = poster.post("{}");
  EXPECT_EQ(result.ec, net::error::connection_refused) << result.ec.message();
}

TEST(HttpPoster, GivesUpOnASilentServerWithinTheTimeLimit) {
  // The kernel completes the handshake into the backlog, but nobody ever reads or answers.
  net::io_context ioc;
  net::ip::tcp::acceptor silent(ioc, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  std::atomic<bool> abort{false};
  HttpPoster poster(local(silent.local_endpoint().port()), 300ms, abort);
  const auto started = std::chrono::steady_clock::now();
  auto result = poster.post("{}");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(result.ec, boost::beast::error::timeout) << result.ec.message();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
}

TEST(HttpPoster, AbortCancelsARequestInFlight) {
  net::io_context ioc;
  net::ip::tcp::acceptor silent(ioc, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  std::atomic<bool> abort{true};
  HttpPoster poster(local(silent.local_endpoint().port()), 10s, abort);
  const auto started = std::chrono::steady_clock::now();
  auto result = poster.post("{}");
  EXPECT_TRUE(result.ec);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

/// Answers the first request of the first connection, then reads the second and hangs up without
/// answering, as a server that dies mid-request does; later connections get every answer. Whether
/// the client sends that second request again is what the tests look at.
class HangUpServer {
 public:
  HangUpServer() : thread_([this] { serve(); }) {}
  ~HangUpServer() {
    stopping_ = true;
    boost::system::error_code ec;
    net::ip::tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes the blocking accept()
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    namespace http = boost::beast::http;
    for (int connection = 0; !stopping_; ++connection) {
      net::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      boost::beast::flat_buffer buffer;
      for (int i = 0;; ++i) {
        http::request<http::string_body> request;
        http::read(socket, buffer, request, ec);
        if (ec) break;
        ++requests_;
        if (connection == 0 && i == 1) break;  // read, maybe processed, never answered
        http::response<http::string_body> response{http::status::ok, 11};
        response.set(http::field::content_type, "application/json");
        response.keep_alive(true);
        response.body() = R"({"stored":true})";
        response.prepare_payload();
        http::write(socket, response, ec);
        if (ec) break;
      }
    }
  }

  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_{ioc_, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;  // last: starts once the acceptor is open
};

TEST(HttpPoster, SendsARequestAgainWhenItsConnectionClosedUnderIt) {
  HangUpServer server;
  std::atomic<bool> abort{false};
  HttpPoster poster(local(server.port()), 2s, abort);
  ASSERT_EQ(poster.post("{}").status, 200u);
  auto second = poster.post("{}");
  ASSERT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(server.requests(), 3) << "the hung-up request is sent once more on a new connection";
}

TEST(HttpPoster, AtMostOnceNeverSendsARequestTwice) {
  HangUpServer server;
  std::atomic<bool> abort{false};
  HttpPoster poster(local(server.port()), 2s, abort, /*resend_on_stale=*/false);
  ASSERT_EQ(poster.post("{}").status, 200u);
  auto second = poster.post("{}");
  EXPECT_TRUE(second.ec) << "the server may have processed it: report, do not resend";
  EXPECT_EQ(server.requests(), 2);
  // The next request gets a fresh connection.
  EXPECT_EQ(poster.post("{}").status, 200u);
  EXPECT_EQ(server.requests(), 3);
}

/// Reads until `expected` whole requests arrived, and only then answers them all, in one write:
/// a client that waits for an answer before sending the next request never gets one.
class PipelineServer {
 public:
  explicit PipelineServer(std::size_t expected) : expected_(expected), thread_([this] { serve(); }) {}
  ~PipelineServer() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  /// The request heads and bodies as received, in one string.
  std::string received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  void serve() {
    beast::error_code ec;
    net::ip::tcp::socket socket(ioc_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    std::string data;
    char chunk[4096];
    // Each test body is "{}": a request ends with its blank line and two bytes of body.
    const auto complete = [&] {
      std::size_t count = 0;
      for (auto at = data.find("\r\n\r\n{}"); at != std::string::npos; at = data.find("\r\n\r\n{}", at + 1)) ++count;
      return count;
    };
    while (complete() < expected_) {
      const auto n = socket.read_some(net::buffer(chunk), ec);
      if (ec) return;
      data.append(chunk, n);
    }
    {
      std::lock_guard lock(mutex_);
      received_ = data;
    }
    std::string answers;
    for (std::size_t i = 0; i < expected_; ++i) {
      const auto body = "{\"n\":" + std::to_string(i) + "}";
      answers += "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\n\r\n" + body;
    }
    net::write(socket, net::buffer(answers), ec);
    socket.shutdown(net::ip::tcp::socket::shutdown_send, ec);
    socket.read_some(net::buffer(chunk), ec);  // until the client closes
  }

  std::size_t expected_;
  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_{ioc_, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  mutable std::mutex mutex_;
  std::string received_;
  std::thread thread_;  // last: starts once the acceptor is open
};

TEST(HttpPoster, PipelinesRequestsAndReadsTheAnswersInOrder) {
  constexpr std::size_t kRequests = 40;
  PipelineServer server(kRequests);
  std::atomic<bool> abort{false};
  HttpPoster poster(local(server.port()), 2s, abort);
  std::vector<std::string> traceparents;
  for (std::size_t i = 0; i < kRequests; ++i) {
    traceparents.push_back(fmt::format("00-{:032x}-{:016x}-01", i + 1, i + 1));
  }
  std::vector<PostRequest> requests;
  for (const auto& tp : traceparents) requests.push_back({"{}", tp});
  const auto results = poster.post_all(requests);
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
}

TEST(HttpPoster, PipelineBehindAClosedConnectionFailsAfterTheLastAnswer) {
  test::StoreServer server;
  server.drop_connections(true);  // answers one request per connection, then hangs up
  std::atomic<bool> abort{false};
  HttpPoster poster(local(server.port()), 2s, abort);
  const auto results = poster.post_all({{"{}", {}}, {"{}", {}}, {"{}", {}}});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_FALSE(results[0].ec) << results[0].ec.message();
  EXPECT_EQ(results[0].status, 200u);
  EXPECT_TRUE(results[1].ec) << "the server hung up before answering";
  EXPECT_TRUE(results[2].ec);
  EXPECT_EQ(server.requests().size(), 1u);
  // The connection is replaced for the next pipeline.
  EXPECT_EQ(poster.post("{}").status, 200u);
}

TEST(HttpPoster, NeverWritesALineBreakIntoAHeader) {
  PipelineServer server(1);
  std::atomic<bool> abort{false};
  HttpPoster poster(local(server.port()), 2s, abort);
  const auto results = poster.post_all({{"{}", "00-x\r\nInjected: yes"}});
  ASSERT_FALSE(results[0].ec) << results[0].ec.message();
  EXPECT_EQ(server.received().find("Injected"), std::string::npos);
}

}  // namespace
}  // namespace ringtrace::ms3
