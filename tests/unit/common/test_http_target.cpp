// Reading request targets: path parameters and integer query parameters, refused with a reason.
#include "ringtrace/common/http_target.hpp"

#include <array>
#include <cstdint>

#include <gtest/gtest.h>

using namespace ringtrace::common;

TEST(HttpTarget, PathTail) {
  EXPECT_EQ(path_tail("/sessions/12?x", "/sessions/"), "12");
  EXPECT_EQ(path_tail("/traces/ab", "/sessions/"), std::nullopt);
}

TEST(HttpTarget, IntegerQueryParameters) {
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
