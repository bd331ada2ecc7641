#pragma once
/// @file
/// The fixture of the MS1 API tests: a FakeMs1 with its writer connected, once without and once
/// with tracing, and a /start that checks its 200.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include "ms1_fakes.hpp"

namespace ringtrace::ms1::fakes {

namespace json = boost::json;
namespace http = boost::beast::http;

/// The body of a JSON response.
inline json::object body_of(const common::HttpResponse& response) { return json::parse(response.body()).as_object(); }

/// MS1 over fakes, connected; the parameter turns tracing on, so both paths of every route run.
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

  std::unique_ptr<FakeMs1> ms1_;  ///< replaced by tests that need another configuration
};

}  // namespace ringtrace::ms1::fakes
