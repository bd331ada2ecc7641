#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "ringtrace/ms1/service/router.hpp"

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
  EXPECT_EQ(routes().size(), 10u);
  EXPECT_EQ(route("GET", "/metrics?x=1"), Route::kMetrics);
  for (const auto& entry : routes()) EXPECT_EQ(route(entry.method, entry.path), entry.route) << entry.path;
}

TEST(Router, ReportRoutes) {
  EXPECT_EQ(route("GET", "/sessions"), Route::kSessions);
  EXPECT_EQ(route("GET", "/sessions?limit=5"), Route::kSessions);
  EXPECT_EQ(route("GET", "/sessions/12"), Route::kSession);
  EXPECT_EQ(route("GET", "/sessions/abc"), Route::kSession) << "the handler answers 400 for a bad id";
  // A prefix route matches exactly one more segment, never an empty one.
  EXPECT_EQ(route("GET", "/sessions/"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/sessions/1/legs"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/assets/"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/assetsx"), Route::kNotFound);
  EXPECT_EQ(route("POST", "/sessions/3"), Route::kMethodNotAllowed);
  EXPECT_EQ(allowed_method("/sessions/3"), "GET");
}

TEST(Router, ThePageAndTheTracesAreTheGateways) {
  // The gateway serves the dashboard's files and relays a trace to Jaeger: MS1 has none of them.
  EXPECT_EQ(route("GET", "/"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/?x=1"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/assets/dashboard.js"), Route::kNotFound);
  EXPECT_EQ(route("GET", "/traces/0123456789abcdef0123456789abcdef"), Route::kNotFound);
  EXPECT_EQ(route("DELETE", "/"), Route::kNotFound) << "not a known path with another method";
  EXPECT_EQ(route("PUT", "/traces/x"), Route::kNotFound);
  EXPECT_EQ(allowed_method("/"), "");
  EXPECT_EQ(allowed_method("/assets/x.css"), "");
}
