// The dashboard's files: headers, validators and 304, unknown files.
#include <gtest/gtest.h>

#include <array>
#include <optional>

#include "ringtrace/ms1/dashboard_api.hpp"

namespace ringtrace::ms1 {
namespace {

namespace http = boost::beast::http;

constexpr std::array kAssets = {
    WebAsset{"/", "text/html; charset=utf-8", "<!doctype html><title>ringtrace</title>", "\"page1\""},
    WebAsset{"/assets/dashboard.js", "text/javascript; charset=utf-8", "start();", "\"js1\""},
};

common::HttpResponse get(DashboardApi& api, std::string target, std::string if_none_match = {}) {
  common::HttpRequest request{http::verb::get, target, 11};
  if (!if_none_match.empty()) request.set(http::field::if_none_match, if_none_match);
  std::optional<common::HttpResponse> out;
  api.handle(std::move(request), [&](common::HttpResponse r) { out = std::move(r); });
  return out.value_or(common::HttpResponse{http::status::gateway_timeout, 11});
}

void expect_security_headers(const common::HttpResponse& r) {
  EXPECT_EQ(r[http::field::cache_control], "no-cache");
  EXPECT_EQ(r["Content-Security-Policy"], "default-src 'self'");
  EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
}

TEST(DashboardApi, ServesThePageAndItsFiles) {
  DashboardApi api(kAssets);
  auto r = get(api, "/");
  ASSERT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(r.body(), kAssets[0].body);
  EXPECT_EQ(r[http::field::etag], "\"page1\"");
  EXPECT_EQ(r[http::field::content_length], std::to_string(kAssets[0].body.size()));
  expect_security_headers(r);
  r = get(api, "/assets/dashboard.js?v=2");
  ASSERT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r.body(), "start();");
  EXPECT_EQ(r[http::field::content_type], "text/javascript; charset=utf-8");
}

TEST(DashboardApi, MatchingETagIs304WithoutABody) {
  DashboardApi api(kAssets);
  for (const char* header : {"\"js1\"", "W/\"js1\"", "\"old\", \"js1\"", "*"}) {
    const auto r = get(api, "/assets/dashboard.js", header);
    EXPECT_EQ(r.result(), http::status::not_modified) << header;
    EXPECT_TRUE(r.body().empty());
    EXPECT_EQ(r[http::field::etag], "\"js1\"");
    expect_security_headers(r);
  }
  EXPECT_EQ(get(api, "/assets/dashboard.js", "\"page1\"").result(), http::status::ok);
}

TEST(DashboardApi, UnknownFileIs404) {
  DashboardApi api(kAssets);
  const auto r = get(api, "/assets/nope.css");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(r.body(), R"({"error":"no dashboard file /assets/nope.css"})");
  EXPECT_EQ(get(api, "/assets/dashboard.js/").result(), http::status::not_found);
}

TEST(DashboardApi, EtagMatching) {
  EXPECT_TRUE(etag_matches("\"a\"", "\"a\""));
  EXPECT_TRUE(etag_matches(" \"b\" ,\"a\"", "\"a\""));
  EXPECT_FALSE(etag_matches("\"ab\"", "\"a\""));
  EXPECT_FALSE(etag_matches("", "\"a\""));
  EXPECT_FALSE(etag_matches(",", "\"a\""));
}

TEST(DashboardApi, TheCompiledInFilesAreServed) {
  // Whatever ms1/web compiled in: each is found at its own path, with a validator.
  DashboardApi api;
  for (const auto& asset : web_assets()) {
    const auto r = get(api, std::string(asset.path));
    EXPECT_EQ(r.result(), http::status::ok) << asset.path;
    EXPECT_FALSE(asset.etag.empty()) << asset.path;
  }
}

}  // namespace
}  // namespace ringtrace::ms1
