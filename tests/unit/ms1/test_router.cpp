#include <gtest/gtest.h>

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
  EXPECT_EQ(route("GET", "/"), Route::kNotFound);
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
  EXPECT_EQ(routes().size(), 8u);
  EXPECT_EQ(route("GET", "/metrics?x=1"), Route::kMetrics);
  for (const auto& entry : routes()) EXPECT_EQ(route(entry.method, entry.path), entry.route) << entry.path;
}
