/// @file
/// MS3's HTTP client against local servers: time limit, kept-alive connection, reconnects. No broker needed.

#include <atomic>
#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/ms3/http_poster.hpp"
#include "store_server.hpp"

namespace ringtrace::ms3 {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;

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

}  // namespace
}  // namespace ringtrace::ms3
