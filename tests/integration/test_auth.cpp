// The shared token on real servers: MS1 (in process, on the real PostgreSQL and MariaDB) behind
// MS2 (in process, on the real broker), both with security.token set. MS1's handshake carries the
// token, so its link comes up; MS3's store client without the token, or with another, gets 401
// and no row is written; with it the message is stored. Servers: scripts/infra.sh up.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms1/service/ms1_service.hpp"
#include "ringtrace/ms2/ms2_service.hpp"
#include "ringtrace/ms3/http_store_client.hpp"
#include "ringtrace/test/backends.hpp"
#include "ringtrace/test/database.hpp"
#include "ringtrace/test/wait.hpp"

using namespace ringtrace;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

namespace {

constexpr const char* kToken = "integration-s3cret-token";

/// Runs a service (started) on its own thread until the test ends.
template <typename Service>
class Running {
 public:
  explicit Running(const common::Config& config) : service_(config) {
    service_.start();
    thread_ = std::thread([this] { service_.run(); });
  }
  ~Running() {
    service_.stop();
    thread_.join();
  }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  Service& operator*() { return service_; }
  Service* operator->() { return &service_; }

 private:
  Service service_;
  std::thread thread_;
};

/// One plain GET to MS1 on `port`; status and body.
std::pair<unsigned, std::string> get(std::uint16_t port, const std::string& target) {
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.expires_after(10s);
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1");
  http::write(stream, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return {response.result_int(), response.body()};
}

class AuthRing : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    config_ = common::parse_config("", common::process_environment());
    config_.database = backend_.config();
    config_.kafka.brokers = test::kafka_brokers();
    config_.kafka.topic = "ringtrace-auth-" + std::to_string(::getpid()) + "-" + GetParam();
    config_.kafka.startup_timeout_ms = 15000;
    config_.ms1.port = 0;
    config_.ms2.port = 0;
    config_.ms2.admin_port = 0;
    config_.tracing.enabled = false;
    config_.interaction.duration_seconds = 60;
    config_.interaction.progress_interval_ms = 0;
    config_.interaction.resend_timeout_ms = 0;
    config_.interaction.drain_timeout_ms = 100;
    config_.security.token = kToken;
    try {
      db_ = std::make_unique<test::Inspector>(backend_);
    } catch (const std::exception& e) {
      FAIL() << backend_.driver << " is required (scripts/infra.sh up): " << e.what();
    }
  }

  /// A message of `session` as MS3 posts it back: hops 1 to 3 stamped.
  [[nodiscard]] std::string returned(std::int64_t session, std::int64_t id) const {
    common::Message m;
    m.session_id = session;
    m.id = id;
    const auto now = common::now_utc();
    for (std::size_t hop = 0; hop < 3; ++hop) m.stamps[hop] = now + std::chrono::microseconds(hop);
    return common::encode(m, config_.message.naming);
  }

  /// POSTs `body` to MS1's /store with MS3's own client, configured with `token`.
  [[nodiscard]] ms3::StoreResult store_as_ms3(std::uint16_t port, const std::string& token, const std::string& body) {
    auto ms3_config = config_;
    ms3_config.ms3.store_url = "http://127.0.0.1:" + std::to_string(port) + "/store";
    ms3_config.security.token = token;
    ms3::HttpStoreClient client(ms3::StoreClientSettings::from(ms3_config));
    return client.store({{body, {}}}).front();
  }

  [[nodiscard]] std::string rows(std::int64_t session) {
    return db_->scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(session));
  }

  test::Backend backend_{GetParam()};
  common::Config config_;
  std::unique_ptr<test::Inspector> db_;
};

}  // namespace

TEST_P(AuthRing, StoreWithoutTheTokenIs401AndWritesNothing) {
  Running<ms2::Ms2Service> ms2(config_);
  config_.ms1.ms2_url = "ws://127.0.0.1:" + std::to_string(ms2->port()) + config_.ms2.path;
  Running<ms1::Ms1Service> ms1(config_);
  const auto port = ms1->port();
  ASSERT_TRUE(test::eventually([&] { return get(port, "/healthz").first == 200; }, 30s))
      << "MS1's handshake carries the token, so MS2 lets it in: " << get(port, "/healthz").second;
  EXPECT_EQ(ms2->counters().upgrades_unauthorized.load(), 0u);

  const auto [status, started] = get(port, "/start");
  ASSERT_EQ(status, 200u) << started;
  const auto session = boost::json::parse(started).at("session_id").as_int64();
  const auto body = returned(session, 1);

  for (const auto& [token, reason] :
       {std::pair{std::string(), "missing bearer token"}, std::pair{std::string("not-the-token"), "wrong bearer token"}}) {
    const auto result = store_as_ms3(port, token, body);
    ASSERT_FALSE(result.ec) << result.ec.message();
    EXPECT_EQ(result.status, 401u) << result.body;
    EXPECT_EQ(result.body, std::string(R"({"error":")") + reason + "\"}");
    EXPECT_EQ(rows(session), "0") << "a refused request stores nothing";
  }
  EXPECT_NE(get(port, "/metrics").second.find("ringtrace_store_requests_total{outcome=\"unauthorized\"} 2"),
            std::string::npos);

  const auto result = store_as_ms3(port, kToken, body);
  ASSERT_FALSE(result.ec) << result.ec.message();
  EXPECT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(rows(session), "1");
  EXPECT_EQ(get(port, "/stop").first, 200u);
}

TEST_P(AuthRing, Ms1WithAnotherTokenNeverGetsItsLink) {
  Running<ms2::Ms2Service> ms2(config_);
  config_.ms1.ms2_url = "ws://127.0.0.1:" + std::to_string(ms2->port()) + config_.ms2.path;
  config_.security.token = "not-the-token";
  Running<ms1::Ms1Service> ms1(config_);
  ASSERT_TRUE(test::eventually([&] { return ms2->counters().upgrades_unauthorized.load() >= 2; }, 30s))
      << "MS1 keeps trying, and MS2 keeps refusing";
  const auto [status, health] = get(ms1->port(), "/healthz");
  EXPECT_EQ(status, 503u) << health;
  EXPECT_NE(health.find("\"ms2_connected\":false"), std::string::npos) << health;
}

INSTANTIATE_TEST_SUITE_P(Databases, AuthRing, ::testing::Values("postgresql", "mariadb"),
                         [](const auto& info) { return info.param; });
