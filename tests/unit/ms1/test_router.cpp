#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "ringtrace/ms1/router.hpp"

using namespace ringtrace::ms1;

TEST(Router, BothSeedSpellingsOfStartAndStop) {
  EXPECT_EQ(route("GET", "/start"), Route::kStart);
  EXPECT_EQ(route("GET", "/start/"), Route::kStart);
  EXPECT_EQ(route("GET", "/stop"), Route::kStop);
  EXPECT_EQ(route("GET", "/stop/"), Route::kStop);
}

TEST(Router, OtherRoutesAndQueries) {
  EXPECT_EQ(route("POST", "/store"), Route::kStore);
  EXPECT_EQ(route("GET", "/status"), Route::kStatus);
  EXPECT_EQ(route("GET", "/healthz"), Route::kHealthz);
  EXPECT_EQ(route("GET", "/status?verbose=1"), Route::kStatus);
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405) {
  EXPECT_EQ(route("GET", "/index.html"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/startx"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/store/"), Route::kNotFound);
  EXPECT_EQ(route("POST", "/start"), Route::kMethodNotAllowed);
  EXPECT_EQ(route("GET", "/store"), Route::kMethodNotAllowed);
  EXPECT_EQ(route("HEAD", "/start"), Route::kMethodNotAllowed) << "HEAD must not start a session";
  EXPECT_EQ(allowed_method("/store"), "POST");
  EXPECT_EQ(allowed_method("/stop/"), "GET");
  EXPECT_EQ(allowed_method("/nope"), "");
}

TEST(Router, TableListsEveryRouteOnce) {
  EXPECT_EQ(routes().size(), 13u);
  EXPECT_EQ(route("GET", "/metrics?x=1"), Route::kMetrics);
  for (const auto& entry : routes()) EXPECT_EQ(route(entry.method, entry.path), entry.route) << entry.path;
}

TEST(Router, DashboardAndReportRoutes) {
  EXPECT_EQ(route("GET", "/"), Route::kPage);
  EXPECT_EQ(route("GET", "/?x=1"), Route::kPage);
  EXPECT_EQ(route("GET", "/assets/dashboard.js"), Route::kAsset);
  EXPECT_EQ(route("GET", "/sessions"), Route::kSessions);
  EXPECT_EQ(route("GET", "/sessions?limit=5"), Route::kSessions);
  EXPECT_EQ(route("GET", "/sessions/12"), Route::kSession);
  EXPECT_EQ(route("GET", "/sessions/abc"), Route::kSession) << "the handler answers 400 for a bad id";
  EXPECT_EQ(route("GET", "/traces/0123456789abcdef0123456789abcdef"), Route::kTrace);
  // A prefix route matches exactly one more segment, never an empty one.
  EXPECT_EQ(route("GET", "/sessions/"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/sessions/1/legs"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/assets/"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/assetsx"), Route::kNotFound);
  EXPECT_EQ(route("POST", "/sessions/3"), Route::kMethodNotAllowed);
  EXPECT_EQ(route("DELETE", "/"), Route::kMethodNotAllowed);
  EXPECT_EQ(route("PUT", "/traces/x"), Route::kMethodNotAllowed);
  EXPECT_EQ(allowed_method("/sessions/3"), "GET");
  EXPECT_EQ(allowed_method("/assets/x.css"), "GET");
}

TEST(Router, PathTail) {
  EXPECT_EQ(path_tail("/sessions/12?x", "/sessions/"), "12");
  EXPECT_EQ(path_tail("/traces/ab", "/sessions/"), std::nullopt);
}

TEST(Router, IntegerQueryParameters) {
  std::array<IntParam, 2> params{IntParam{"limit", 1, 100, {}}, IntParam{"before", 1, INT64_MAX, {}}};
  EXPECT_EQ(read_int_params("/sessions", params), std::nullopt);
  EXPECT_FALSE(params[0].value);
  EXPECT_EQ(read_int_params("/sessions?limit=5&before=9&", params), std::nullopt);
  EXPECT_EQ(params[0].value, 5);
  EXPECT_EQ(params[1].value, 9);
  const auto error = [](std::string_view target) {
    std::array<IntParam, 2> fresh{IntParam{"limit", 1, 100, {}}, IntParam{"before", 1, INT64_MAX, {}}};
    return read_int_params(target, fresh).value_or("accepted");
  };
  EXPECT_EQ(error("/s?limit=100"), "accepted");
  EXPECT_EQ(error("/s?limit=101"), "query parameter 'limit': expected an integer in [1, 100], got '101'");
  EXPECT_EQ(error("/s?limit=0"), "query parameter 'limit': expected an integer in [1, 100], got '0'");
  for (const auto* bad : {"/s?limit=", "/s?limit", "/s?limit=-1", "/s?limit=+1", "/s?limit=1x", "/s?limit=%31",
                          "/s?before=99999999999999999999"}) {
    EXPECT_NE(error(bad).find("expected an integer"), std::string::npos) << bad;
  }
  EXPECT_EQ(error("/s?limit=1&limit=2"), "query parameter 'limit' given twice");
  EXPECT_EQ(error("/s?offset=3"), "unknown query parameter 'offset' (accepted: limit, before)");
  EXPECT_EQ(error("/s?=3"), "unknown query parameter '' (accepted: limit, before)");
  EXPECT_EQ(parse_int_in("007", 1, 10), 7);
  // 91.0 is an integer to JSON Schema, so to the OpenAPI document; 91.5 is not.
  EXPECT_EQ(parse_int_in("9.0", 1, 10), 9);
  EXPECT_EQ(parse_int_in("9.000", 1, 10), 9);
  for (const auto* bad : {"9.5", "9.", ".0", "9.0.0", "9.01", "11.0", "-9.0", "9,0"}) {
    EXPECT_EQ(parse_int_in(bad, 1, 10), std::nullopt) << bad;
  }
}
