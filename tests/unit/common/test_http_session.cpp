#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "ringtrace/common/http_listener.hpp"
#include "ringtrace/common/http_session.hpp"
#include "ringtrace/test/wait.hpp"

using namespace ringtrace::common;
using namespace std::chrono_literals;
using ringtrace::test::eventually;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

using ClientResponse = http::response<http::string_body>;

/// Keeps every request's responder so the test decides when, and in which order, requests are answered.
class DeferredHandler : public RequestHandler {
 public:
  void handle(HttpRequest&& request, Responder respond) override {
    std::string target(request.target());
    if (immediate_) respond(json_response(http::status::ok, target));
    const std::lock_guard lock(mutex_);
    requests_.emplace_back(std::move(target), std::move(respond));
  }
  /// Answers before handle() returns, as MS1 does for validation errors.
  void answer_immediately() { immediate_ = true; }
  std::size_t count() {
    const std::lock_guard lock(mutex_);
    return requests_.size();
  }
  std::pair<std::string, Responder> request(std::size_t i) {
    const std::lock_guard lock(mutex_);
    return requests_.at(i);
  }

 private:
  bool immediate_ = false;  // set before the server thread starts
  std::mutex mutex_;        // handle() runs on the server thread, the test reads from its own
  std::vector<std::pair<std::string, Responder>> requests_;
};

/// A client that writes raw bytes (several requests in one write) and reads responses with a time limit.
class RawClient {
 public:
  explicit RawClient(const net::ip::tcp::endpoint& server) : stream_(ioc_) { stream_.connect(server); }
  void send(const std::string& bytes) { net::write(stream_.socket(), net::buffer(bytes)); }
  /// Reads one response; end_of_stream when the server closed, timeout when nothing came within `limit`.
  beast::error_code read(ClientResponse& response, std::chrono::milliseconds limit = 5000ms) {
    beast::error_code result = net::error::would_block;
    stream_.expires_after(limit);
    http::async_read(stream_, buffer_, response, [&](beast::error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();  // the stream's expiry bounds this
    return result;
  }
  void close() { stream_.close(); }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

std::string get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

/// An HttpListener on a free loopback port, served by one thread like MS1's event loop.
class HttpSessionTest : public ::testing::Test {
 protected:
  void start(HttpLimits limits = {}, UpgradeRoute upgrade = {}) {
    listener_ = std::make_shared<HttpListener>(ioc_, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0),
                                               handler_, limits, std::move(upgrade));
    listener_->run();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  /// Answers request `i` on the event loop, as the handler contract requires; the body names its target.
  void answer(std::size_t i) {
    auto [target, respond] = handler_.request(i);
    net::post(ioc_, [respond, target] { respond(json_response(http::status::ok, target)); });
  }
  std::unique_ptr<RawClient> connect() { return std::make_unique<RawClient>(listener_->local_endpoint()); }

  net::io_context ioc_{1};
  DeferredHandler handler_;  // after ioc_: its responders keep sessions alive, which need the io_context
  std::shared_ptr<HttpListener> listener_;
  std::thread thread_;
};

}  // namespace

TEST_F(HttpSessionTest, PipelinedResponsesKeepRequestOrderWhateverOrderTheHandlerAnswers) {
  start();
  auto client = connect();
  client->send(get("/a") + get("/b") + get("/c"));
  ASSERT_TRUE(eventually([&] { return handler_.count() == 3; })) << "all three reach the handler before any answer";
  answer(2);
  answer(1);
  answer(0);
  for (const char* target : {"/a", "/b", "/c"}) {
    ClientResponse response;
    ASSERT_FALSE(client->read(response)) << target;
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body(), target);
    EXPECT_TRUE(response.keep_alive());
  }
}

TEST_F(HttpSessionTest, MalformedRequestIsAnsweredAfterEarlierOnesThenTheConnectionCloses) {
  start();
  auto client = connect();
  client->send(get("/a") + "this is not HTTP\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handler_.count() == 1; }));
  answer(0);
  ClientResponse first;
  ASSERT_FALSE(client->read(first));
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first.body(), "/a");
  ClientResponse second;
  ASSERT_FALSE(client->read(second));
  EXPECT_EQ(second.result_int(), 400);
  EXPECT_NE(second.body().find("malformed HTTP request: "), std::string::npos) << second.body();
  EXPECT_FALSE(second.keep_alive());
  ClientResponse none;
  EXPECT_EQ(client->read(none), http::error::end_of_stream);
  EXPECT_EQ(handler_.count(), 1u);
}

TEST_F(HttpSessionTest, OversizedBodyIsAnsweredAfterEarlierOnesThenTheConnectionCloses) {
  start(HttpLimits{16, 5000ms});
  auto client = connect();
  client->send(get("/a") + "POST /big HTTP/1.1\r\nHost: test\r\nContent-Length: 17\r\n\r\n" + std::string(17, 'x'));
  ASSERT_TRUE(eventually([&] { return handler_.count() == 1; }));
  answer(0);
  ClientResponse first;
  ASSERT_FALSE(client->read(first));
  EXPECT_EQ(first.body(), "/a");
  ClientResponse second;
  ASSERT_FALSE(client->read(second));
  EXPECT_EQ(second.result_int(), 413);
  EXPECT_EQ(second.body(), R"({"error":"request body exceeds 16 bytes"})");
  ClientResponse none;
  EXPECT_EQ(client->read(none), http::error::end_of_stream);
}

TEST_F(HttpSessionTest, ConnectionCloseIsTheLastRequestRead) {
  start();
  auto client = connect();
  client->send(get("/a") + get("/b", "Connection: close\r\n") + get("/c"));
  ASSERT_TRUE(eventually([&] { return handler_.count() == 2; }));
  answer(1);
  answer(0);
  ClientResponse first;
  ASSERT_FALSE(client->read(first));
  EXPECT_EQ(first.body(), "/a");
  EXPECT_TRUE(first.keep_alive());
  ClientResponse second;
  ASSERT_FALSE(client->read(second));
  EXPECT_EQ(second.body(), "/b");
  EXPECT_FALSE(second.keep_alive());
  ClientResponse none;
  EXPECT_EQ(client->read(none), http::error::end_of_stream);
  EXPECT_EQ(handler_.count(), 2u) << "/c is never handed to the handler";
}

TEST_F(HttpSessionTest, ReadingPausesAtThePipeliningLimit) {
  HttpLimits limits;
  limits.max_pipelined = 2;
  start(limits);
  auto client = connect();
  client->send(get("/a") + get("/b") + get("/c"));
  ASSERT_TRUE(eventually([&] { return handler_.count() == 2; }));
  // The absence of an effect can only be watched for a while.
  EXPECT_FALSE(eventually([&] { return handler_.count() > 2; }, 300ms)) << "/c must wait for a written response";
  answer(0);
  ClientResponse first;
  ASSERT_FALSE(client->read(first));
  EXPECT_EQ(first.body(), "/a");
  ASSERT_TRUE(eventually([&] { return handler_.count() == 3; }));
  EXPECT_EQ(handler_.request(2).first, "/c");
  answer(1);
  answer(2);
  for (const char* target : {"/b", "/c"}) {
    ClientResponse response;
    ASSERT_FALSE(client->read(response)) << target;
    EXPECT_EQ(response.body(), target);
  }
}

TEST_F(HttpSessionTest, IdleConnectionTimesOutAfterItsLastResponse) {
  handler_.answer_immediately();
  start(HttpLimits{64 * 1024, 200ms});
  auto client = connect();
  client->send(get("/a"));
  ClientResponse first;
  ASSERT_FALSE(client->read(first));
  EXPECT_EQ(first.body(), "/a");
  const auto idle_since = std::chrono::steady_clock::now();
  ClientResponse none;
  EXPECT_EQ(client->read(none, 5000ms), http::error::end_of_stream) << "the server closes an idle connection";
  EXPECT_GE(std::chrono::steady_clock::now() - idle_since, 150ms);
}

TEST_F(HttpSessionTest, SlowHandlerIsNotCutByTheReadTimeout) {
  start(HttpLimits{64 * 1024, 200ms});
  auto client = connect();
  client->send(get("/a") + get("/b"));
  ASSERT_TRUE(eventually([&] { return handler_.count() == 2; }));
  std::this_thread::sleep_for(600ms);  // three read timeouts with both requests in the handler (the database)
  answer(0);
  answer(1);
  for (const char* target : {"/a", "/b"}) {
    ClientResponse response;
    ASSERT_FALSE(client->read(response)) << target;
    EXPECT_EQ(response.body(), target);
  }
  ClientResponse none;
  EXPECT_EQ(client->read(none), http::error::end_of_stream) << "idle again afterwards, so it times out";
}

TEST_F(HttpSessionTest, AnswersAfterTheClientLeftAndSecondAnswersAreHarmless) {
  start();
  auto client = connect();
  client->send(get("/a") + get("/b"));
  ASSERT_TRUE(eventually([&] { return handler_.count() == 2; }));
  client->close();
  answer(1);
  answer(0);
  answer(0);
  // A fresh connection still works, so the loop survived the late answers (ASan checks the rest).
  auto again = connect();
  again->send(get("/c"));
  ASSERT_TRUE(eventually([&] { return handler_.count() == 3; }));
  answer(2);
  answer(2);
  ClientResponse response;
  ASSERT_FALSE(again->read(response));
  EXPECT_EQ(response.body(), "/c");
}

/// An upgrade request as a WebSocket client sends it.
std::string upgrade(const std::string& target) {
  return get(target, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
}

TEST_F(HttpSessionTest, UpgradeOnTheRouteIsHandedOverAfterEarlierResponses) {
  std::mutex mutex;
  std::vector<std::string> upgraded;  // target, then the bytes read past the request
  start({}, UpgradeRoute{"/ws", [&](net::ip::tcp::socket&& socket, beast::flat_buffer&& buffer, HttpRequest&& request) {
                           const std::lock_guard lock(mutex);
                           upgraded.emplace_back(request.target());
                           upgraded.push_back(beast::buffers_to_string(buffer.data()));
                           // The socket is ours now: answer on it directly.
                           net::write(socket, net::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nws")));
                         }});
  auto client = connect();
  client->send(get("/a") + upgrade("/ws?x=1") + "frame");
  ASSERT_TRUE(eventually([&] { return handler_.count() == 1; }));
  {
    const std::lock_guard lock(mutex);
    EXPECT_TRUE(upgraded.empty()) << "handed over only once /a is answered";
  }
  answer(0);
  ClientResponse first;
  ASSERT_FALSE(client->read(first));
  EXPECT_EQ(first.body(), "/a");
  ClientResponse second;
  ASSERT_FALSE(client->read(second));
  EXPECT_EQ(second.body(), "ws") << "written by the upgrade handler";
  const std::lock_guard lock(mutex);
  ASSERT_EQ(upgraded.size(), 2u);
  EXPECT_EQ(upgraded[0], "/ws?x=1");
  EXPECT_EQ(upgraded[1], "frame");
  EXPECT_EQ(handler_.count(), 1u);
}

TEST_F(HttpSessionTest, UpgradeElsewhereGoesToTheHandler) {
  handler_.answer_immediately();
  std::atomic<bool> upgraded{false};
  start({}, UpgradeRoute{"/ws", [&](net::ip::tcp::socket&&, beast::flat_buffer&&, HttpRequest&&) { upgraded = true; }});
  auto client = connect();
  client->send(upgrade("/elsewhere"));
  ClientResponse response;
  ASSERT_FALSE(client->read(response));
  EXPECT_EQ(response.body(), "/elsewhere");
  EXPECT_FALSE(upgraded);
}

TEST(HttpListener, TakenPortNamesHostPortAndReason) {
  net::io_context ioc;
  DeferredHandler handler;
  const auto first = std::make_shared<HttpListener>(
      ioc, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0), handler, HttpLimits{});
  const auto port = first->local_endpoint().port();
  try {
    HttpListener second(ioc, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), handler, HttpLimits{});
    FAIL() << "bound a taken port";
  } catch (const BindError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot listen on 127.0.0.1:" + std::to_string(port) + ": ", 0), 0u)
        << e.what();
  }
}
