/// @file
/// MS3's store client over HTTP against the fake MS1 /store: what it sends, its delivery policy,
/// cancellation and its configuration errors.

#include "ringtrace/ms3/http_store_client.hpp"

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ringtrace/common/clock_offset.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/test/fake_http_server.hpp"

namespace ringtrace::ms3 {
namespace {

using namespace std::chrono_literals;
using test::AfterAnswer;
using test::FakeHttpServer;
using test::FakeResponse;
using test::ReceivedRequest;

common::Config config_for(const std::string& url, common::Delivery delivery = common::Delivery::kAtLeastOnce) {
  common::Config config;
  config.ms3.store_url = url;
  config.ms3.request_timeout_ms = 2000;
  config.kafka.delivery = delivery;
  return config;
}

/// The second request on the first connection is read and never answered; later connections answer all.
void hang_up_on_the_second_request(FakeHttpServer& server) {
  server.set_responder([](const ReceivedRequest& request) {
    FakeResponse response;
    if (request.connection == 0 && request.index == 1) response.after = AfterAnswer::kHangUp;
    return response;
  });
}

/// How many times `needle` occurs in `haystack`.
std::size_t occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++count;
  return count;
}

TEST(HttpStoreClient, LearnsMs1sClockFromTheAnswersAndReportsItOnLaterPosts) {
  FakeHttpServer server;
  // MS1's clock 30 ms ahead of this one; its second answer's stamps do not parse.
  int n = 0;
  server.set_responder([&n](const ReceivedRequest&) {
    FakeResponse response;
    const auto t2 = common::now_utc() + 30ms;
    const auto stamps = common::format_clock_stamps({t2, common::now_utc() + 30ms});
    response.headers.emplace_back("Ringtrace-Clock", n++ == 1 ? "not stamps" : stamps);
    return response;
  });
  HttpStoreClient client(StoreClientSettings::from(config_for(server.url("/store"))));
  EXPECT_FALSE(client.estimate()) << "nothing measured yet";
  for (const auto& result : client.store({{R"({"id":1})", {}}, {R"({"id":2})", {}}, {R"({"id":3})", {}}})) {
    ASSERT_FALSE(result.ec) << result.ec.message();
  }
  auto received = server.requests();
  ASSERT_EQ(received.size(), 3u);
  for (const auto& request : received) EXPECT_EQ(request.clock, "") << "no estimate, no report";
  const auto estimate = client.estimate();
  ASSERT_TRUE(estimate);
  EXPECT_LE(std::abs(estimate->offset_us - 30'000), estimate->uncertainty_us);
  EXPECT_EQ(estimate->samples, 2) << "the answer without stamps is no sample";

  ASSERT_EQ(client.store({{R"({"id":4})", {}}, {R"({"id":5})", {}}}).size(), 2u);
  received = server.requests();
  ASSERT_EQ(received.size(), 5u);
  for (std::size_t i = 3; i < 5; ++i) {
    const auto report = common::parse_clock_report(received[i].clock);
    ASSERT_TRUE(report) << received[i].clock;
    EXPECT_LE(std::abs(report->offset_us - 30'000), report->uncertainty_us);
    EXPECT_EQ(report->samples, 2) << "the estimate as of the batch";
  }
  EXPECT_EQ(client.estimate()->samples, 4);
}

TEST(HttpStoreClient, SendsTheTokenOnEveryPost) {
  FakeHttpServer server;
  auto config = config_for(server.url("/store"));
  config.security.token = "s3cret";
  HttpStoreClient client(StoreClientSettings::from(config));
  ASSERT_EQ(client.store({{R"({"id":1})", {}}, {R"({"id":2})", {}}}).size(), 2u);
  ASSERT_EQ(client.store({{R"({"id":3})", {}}}).size(), 1u);
  EXPECT_EQ(occurrences(server.received(), "\r\nAuthorization: Bearer s3cret\r\n"), 3u) << server.received();
}

TEST(HttpStoreClient, SendsNoAuthorizationWithoutAToken) {
  FakeHttpServer server;
  HttpStoreClient client(StoreClientSettings::from(config_for(server.url("/store"))));
  ASSERT_EQ(client.store({{R"({"id":1})", {}}}).size(), 1u);
  EXPECT_EQ(server.received().find("Authorization"), std::string::npos) << server.received();
}

TEST(HttpStoreClient, PostsEachRecordAsJsonWithItsTraceparent) {
  FakeHttpServer server;
  HttpStoreClient client(StoreClientSettings::from(config_for(server.url("/store"))));
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const auto results = client.store({{R"({"id":1})", traceparent}, {R"({"id":2})", {}}});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& result : results) {
    ASSERT_FALSE(result.ec) << result.ec.message();
    EXPECT_EQ(result.status, 200u);
  }
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/store");
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(requests[0].traceparent, traceparent);
  EXPECT_EQ(requests[0].body, R"({"id":1})");
  EXPECT_EQ(requests[1].traceparent, "");
  EXPECT_EQ(requests[1].body, R"({"id":2})");
  EXPECT_EQ(server.connections(), 1u) << "one pipeline on one connection";
  EXPECT_NE(server.received().find("User-Agent: ringtrace-ms3\r\n"), std::string::npos);
  EXPECT_EQ(client.url(), server.url("/store"));
}

TEST(HttpStoreClient, AtLeastOnceResendsARecordWhoseConnectionClosedUnderIt) {
  FakeHttpServer server;
  hang_up_on_the_second_request(server);
  HttpStoreClient client(StoreClientSettings::from(config_for(server.url("/store"))));
  ASSERT_EQ(client.store({{"{}", {}}}).front().status, 200u);
  const auto second = client.store({{"{}", {}}}).front();
  ASSERT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(HttpStoreClient, AtMostOnceNeverSendsARecordTwice) {
  FakeHttpServer server;
  hang_up_on_the_second_request(server);
  HttpStoreClient client(StoreClientSettings::from(config_for(server.url("/store"), common::Delivery::kAtMostOnce)));
  ASSERT_EQ(client.store({{"{}", {}}}).front().status, 200u);
  EXPECT_TRUE(client.store({{"{}", {}}}).front().ec) << "MS1 may have stored it: report, do not resend";
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpStoreClient, CancelCutsAStoreShort) {
  test::SilentServer silent;
  auto config = config_for(silent.url("/store"));
  config.ms3.request_timeout_ms = 10000;
  HttpStoreClient client(StoreClientSettings::from(config));
  client.cancel();
  const auto started = std::chrono::steady_clock::now();
  const auto results = client.store({{"{}", {}}, {"{}", {}}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ec);
  EXPECT_TRUE(results[1].ec);
}

TEST(HttpStoreClient, RefusesAStoreUrlThatIsNotHttp) {
  try {
    HttpStoreClient client(StoreClientSettings::from(config_for("ws://127.0.0.1:1/store")));
    FAIL() << "accepted a ws:// store_url";
  } catch (const common::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ms3.store_url"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ringtrace::ms3
