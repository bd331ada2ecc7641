#include <gtest/gtest.h>

#include "ringtrace/common/timestamp.hpp"

using namespace ringtrace::common;
using namespace std::chrono;

TEST(Timestamp, FormatsUtcWithMicroseconds) {
  const Timestamp ts = Timestamp{sys_days{year{2026} / 11 / 21}} + hours{10} + minutes{15} + seconds{30} + microseconds{123456};
  EXPECT_EQ(format_timestamp(ts), "2026-11-21T10:15:30.123456Z");
}

TEST(Timestamp, PadsSmallFields) {
  const Timestamp ts = Timestamp{sys_days{year{2001} / 2 / 3}} + hours{4} + minutes{5} + seconds{6} + microseconds{7};
  EXPECT_EQ(format_timestamp(ts), "2001-02-03T04:05:06.000007Z");
}

TEST(Timestamp, RoundTripsNow) {
  const auto now = now_utc();
  const auto parsed = parse_timestamp(format_timestamp(now));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, now);
}

TEST(Timestamp, AcceptsLeapDay) { EXPECT_TRUE(parse_timestamp("2024-02-29T23:59:59.999999Z").has_value()); }

class BadTimestamp : public ::testing::TestWithParam<const char*> {};

TEST_P(BadTimestamp, IsRejected) { EXPECT_FALSE(parse_timestamp(GetParam()).has_value()) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(Forms, BadTimestamp,
                         ::testing::Values("", "2026-11-21", "2026-11-21T10:15:30Z", "2026-11-21T10:15:30.123Z",
                                           "2026-11-21T10:15:30.123456+00:00", "2026-11-21 10:15:30.123456Z",
                                           "2026-13-21T10:15:30.123456Z", "2026-02-30T10:15:30.123456Z",
                                           "2025-02-29T10:15:30.123456Z", "2026-11-21T24:00:00.000000Z",
                                           "2026-11-21T10:60:30.123456Z", "2026-11-21T10:15:60.123456Z",
                                           "2026-11-21T10:15:30.12345xZ", "x026-11-21T10:15:30.123456Z",
                                           "2026-11-21T10:15:30.123456z"));
