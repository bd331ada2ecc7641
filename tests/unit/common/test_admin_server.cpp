#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "ringtrace/common/admin_server.hpp"

using namespace ringtrace::common;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

/// An AdminServer on a free loopback port, served by its own thread.
class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_.counter("ringtrace_test_total", "A counter").inc(3);
    server_ = std::make_unique<AdminServer>(ioc_, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0),
                                            metrics_, [this] { return health_; });
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    ioc_.stop();
    thread_.join();
    server_.reset();
  }

  http::response<http::string_body> request(http::verb verb, const std::string& target) {
    net::io_context client;
    boost::beast::tcp_stream stream(client);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(server_->local_endpoint());
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response;
  }

  std::string probe(const std::string& path) {
    return "\"" RINGTRACE_PROBE "\" http://127.0.0.1:" + std::to_string(server_->local_endpoint().port()) + path +
           " --timeout-ms 3000 2>/dev/null";
  }

  net::io_context ioc_{1};
  MetricsRegistry metrics_;
  HealthReport health_{true, R"({"status":"ok"})"};
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
};

int exit_code(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_F(AdminServerTest, MetricsAnswerInPrometheusTextFormat) {
  const auto response = request(http::verb::get, "/metrics");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], kMetricsContentType);
  EXPECT_NE(response.body().find("ringtrace_test_total 3\n"), std::string::npos) << response.body();
}

TEST_F(AdminServerTest, HealthFollowsTheReport) {
  EXPECT_EQ(request(http::verb::get, "/healthz").result_int(), 200);
  health_ = {false, R"({"status":"waiting"})"};
  const auto response = request(http::verb::get, "/healthz");
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_EQ(response.body(), R"({"status":"waiting"})");
}

TEST_F(AdminServerTest, OtherPathsAndMethodsAreRefused) {
  const auto missing = request(http::verb::get, "/start");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_NE(missing.body().find("/metrics"), std::string::npos) << "the error says what is served";
  const auto post = request(http::verb::post, "/metrics");
  EXPECT_EQ(post.result_int(), 405);
  EXPECT_EQ(post[http::field::allow], "GET");
}

TEST_F(AdminServerTest, ProbeExitCodesFollowTheAnswer) {
  EXPECT_EQ(exit_code(probe("/healthz")), 0);
  health_ = {false, R"({"status":"down"})"};
  EXPECT_EQ(exit_code(probe("/healthz")), 1) << "503 is unhealthy";
  EXPECT_EQ(exit_code(probe("/nowhere")), 1) << "404 is unhealthy";
}

TEST(Probe, UnreachableAndBadArgumentsAreTold) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  EXPECT_EQ(exit_code("\"" RINGTRACE_PROBE "\" http://127.0.0.1:1/healthz 2>/dev/null"), 1);
  EXPECT_EQ(exit_code("\"" RINGTRACE_PROBE "\" 2>/dev/null"), 2);
  EXPECT_EQ(exit_code("\"" RINGTRACE_PROBE "\" ws://127.0.0.1:1/ 2>/dev/null"), 2);
  EXPECT_EQ(exit_code("\"" RINGTRACE_PROBE "\" http://127.0.0.1:1/ --timeout-ms x 2>/dev/null"), 2);
}
