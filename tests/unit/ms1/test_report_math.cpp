// Report arithmetic without a database: the legs, the histogram buckets (exact at every bound),
// the throughput slice width, and the gaps the assembled report fills in.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../../../ms1/src/reports/report_sql.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using common::Hop;

namespace {

TEST(ReportMath, LegsAreSpelledAsTheApiAndRunBetweenTheirStamps) {
  EXPECT_EQ(to_string(Leg::kMs1ToMs2), "ms1_to_ms2");
  EXPECT_EQ(to_string(Leg::kMs2ToMs3), "ms2_to_ms3");
  EXPECT_EQ(to_string(Leg::kMs3ToMs1), "ms3_to_ms1");
  EXPECT_EQ(to_string(Leg::kCycle), "cycle");
  EXPECT_EQ(leg_stamps(Leg::kMs1ToMs2), std::make_pair(Hop::kMs1, Hop::kMs2));
  EXPECT_EQ(leg_stamps(Leg::kMs2ToMs3), std::make_pair(Hop::kMs2, Hop::kMs3));
  EXPECT_EQ(leg_stamps(Leg::kMs3ToMs1), std::make_pair(Hop::kMs3, Hop::kEnd));
  EXPECT_EQ(leg_stamps(Leg::kCycle), std::make_pair(Hop::kMs1, Hop::kEnd));
}

TEST(ReportMath, BucketsAreTenthsOfADecadeExactAtTheDecades) {
  EXPECT_EQ(bucket_index(1), 0);
  EXPECT_EQ(bucket_index(2), 3) << "10^0.3 = 1.995 <= 2 < 10^0.4";
  EXPECT_EQ(bucket_index(9), 9);
  EXPECT_EQ(bucket_index(10), 10);
  EXPECT_EQ(bucket_index(12), 10);
  EXPECT_EQ(bucket_index(13), 11) << "10^1.1 = 12.59";
  EXPECT_EQ(bucket_index(99), 19);
  EXPECT_EQ(bucket_index(100), 20);
  EXPECT_EQ(bucket_index(999), 29);
  EXPECT_EQ(bucket_index(1000), 30) << "log10(1000) computed in floating point may fall short of 3";
  EXPECT_EQ(bucket_index(1001), 30);
  EXPECT_EQ(bucket_index(1258), 30);
  EXPECT_EQ(bucket_index(1259), 31) << "10^3.1 = 1258.925";
  EXPECT_EQ(bucket_index(999999), 59);
  EXPECT_EQ(bucket_index(1000000), 60);
  EXPECT_EQ(bucket_index(1000000000000000000), 180);
}

TEST(ReportMath, BelowOneMicrosecondAndHugeLatenciesStayInRange) {
  EXPECT_EQ(bucket_index(0), 0);
  EXPECT_EQ(bucket_index(-1), 0);
  EXPECT_EQ(bucket_index(std::numeric_limits<std::int64_t>::min()), 0);
  EXPECT_EQ(bucket_index(std::numeric_limits<std::int64_t>::max()), 189);
  EXPECT_EQ(bucket_index(7943282347242815020), 188) << "just below 10^18.9";
  EXPECT_EQ(bucket_index(7943282347242815021), 189);
}

TEST(ReportMath, IntegerBoundsAreTheCeilingsOfThePowers) {
  const auto bounds = detail::bucket_lower_us();
  for (int i = 0; i < detail::kBucketCount; ++i) {
    const long double power = std::pow(10.0L, i / 10.0L);
    EXPECT_GE(static_cast<long double>(bounds[static_cast<std::size_t>(i)]), power * (1 - 1e-15L)) << i;
    // Exactness is for the generator (integer arithmetic); a long double can check it while
    // it holds every integer of the bound's size (below 2^64 it does not quite).
    if (i <= 150) {
      EXPECT_LT(static_cast<long double>(bounds[static_cast<std::size_t>(i)] - 1), power) << i;
    }
    if (i > 0) {
      EXPECT_LE(bounds[static_cast<std::size_t>(i - 1)], bounds[static_cast<std::size_t>(i)]) << i;
      // Every bound is where bucket_index steps up to at least that bucket.
      EXPECT_GE(bucket_index(bounds[static_cast<std::size_t>(i)]), i) << i;
      EXPECT_LT(bucket_index(bounds[static_cast<std::size_t>(i)] - 1), i) << i;
    }
  }
}

TEST(ReportMath, BucketBoundsInMilliseconds) {
  EXPECT_DOUBLE_EQ(bucket_lower_ms(0), 0.001);
  EXPECT_DOUBLE_EQ(bucket_upper_ms(0), std::pow(10.0, 0.1) / 1000);
  EXPECT_DOUBLE_EQ(bucket_lower_ms(30), 1.0);
  EXPECT_DOUBLE_EQ(bucket_upper_ms(29), 1.0);
  EXPECT_DOUBLE_EQ(bucket_lower_ms(40), 10.0);
  for (int i = 0; i < 100; ++i) EXPECT_DOUBLE_EQ(bucket_upper_ms(i), bucket_lower_ms(i + 1)) << i;
}

TEST(ReportMath, SliceWidthKeepsAtMost240Slices) {
  SessionRow row;
  row.duration_seconds = 10;
  EXPECT_EQ(throughput_bucket_seconds(row), 1);
  row.duration_seconds = 240;
  EXPECT_EQ(throughput_bucket_seconds(row), 1);
  row.duration_seconds = 241;
  EXPECT_EQ(throughput_bucket_seconds(row), 2);
  row.duration_seconds = 3600;
  EXPECT_EQ(throughput_bucket_seconds(row), 15);
  row.duration_seconds = 86400;
  EXPECT_EQ(throughput_bucket_seconds(row), 360);
  row.duration_seconds = 60;
  row.elapsed_seconds = 480.5;  // a drain beyond the duration widens the slices
  EXPECT_EQ(throughput_bucket_seconds(row), 3);
  row.elapsed_seconds = 2.0;  // a session stopped early keeps its duration's width
  EXPECT_EQ(throughput_bucket_seconds(row), 1);
  row.duration_seconds = 0;
  row.elapsed_seconds.reset();
  EXPECT_EQ(throughput_bucket_seconds(row), 1) << "never zero wide";
}

TEST(ReportMath, NearestRankIsTheCeiling) {
  EXPECT_EQ(detail::nearest_rank(1, 50, 100), 1);
  EXPECT_EQ(detail::nearest_rank(10, 90, 100), 9);
  EXPECT_EQ(detail::nearest_rank(11, 90, 100), 10);
  EXPECT_EQ(detail::nearest_rank(100, 99, 100), 99);
  EXPECT_EQ(detail::nearest_rank(101, 99, 100), 100);
  EXPECT_EQ(detail::nearest_rank(1000000, 50, 100), 500000);
}

TEST(ReportMath, DenseBucketsAndSlicesFillTheGaps) {
  EXPECT_TRUE(detail::dense_buckets({}).empty());
  EXPECT_EQ(detail::dense_buckets({{30, 2}, {32, 5}}), (std::vector<Bucket>{{30, 2}, {31, 0}, {32, 5}}));
  EXPECT_TRUE(detail::dense_throughput({}, 2).empty());
  EXPECT_EQ(detail::dense_throughput({{1, 4}, {3, 1}}, 2),
            (std::vector<ThroughputPoint>{{0, 0}, {2, 4}, {4, 0}, {6, 1}}));
  EXPECT_EQ(detail::dense_throughput({{0, 1}, {1000000, 1}}, 1).size(),
            static_cast<std::size_t>(detail::kMaxThroughputSlice + 1))
      << "a stamp far in the future does not stretch the timeline";
}

TEST(ReportMath, UnknownDriverIsAConfigError) {
  common::DatabaseConfig config;
  config.driver = "sqlite";
  EXPECT_THROW(make_report_store(config, common::Naming::kService), common::ConfigError);
  config.driver = "postgresql";
  EXPECT_NE(make_report_store(config, common::Naming::kService), nullptr) << "builds without connecting";
}

}  // namespace
