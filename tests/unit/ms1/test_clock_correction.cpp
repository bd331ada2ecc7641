// Hops corrected by the clock offsets, without a database: each leg's shift and uncertainty, the
// corrected figures from value counts and from ranked figures (histogram rebucketed), the flag for
// a hop shorter than its uncertainty, and which stored stamp is which clock.
#include <gtest/gtest.h>

#include <random>

#include "../../../ms1/src/reports/report_sql.hpp"
#include "ringtrace/ms1/reports/clock_correction.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using common::Hop;

namespace {

ClockRecord clock(Hop hop, std::int64_t offset_us, std::int64_t uncertainty_us) {
  ClockRecord c;
  c.clock = hop;
  c.offset_us = offset_us;
  c.uncertainty_us = uncertainty_us;
  c.samples = 8;
  c.measured_at = *common::parse_timestamp("2026-12-03T18:00:00.000001Z");
  return c;
}

/// MS2 80 ms ahead of MS1 (± 71 µs), MS3 50 ms behind (± 66 µs): the skew test's clocks.
SessionClocks skewed() { return {clock(Hop::kMs2, 80000, 71), clock(Hop::kMs3, -50000, 66)}; }

TEST(ClockCorrection, EachLegIsShiftedByTheClocksOfItsStamps) {
  const auto clocks = skewed();
  EXPECT_EQ(leg_shift(Leg::kMs1ToMs2, clocks), (LegShift{80000, 71})) << "raw − θ2";
  EXPECT_EQ(leg_shift(Leg::kMs2ToMs3, clocks), (LegShift{-130000, 137})) << "raw − θ3 + θ2, ± u2 + u3";
  EXPECT_EQ(leg_shift(Leg::kMs3ToMs1, clocks), (LegShift{50000, 66})) << "raw + θ3";
  EXPECT_EQ(leg_shift(Leg::kCycle, clocks), (LegShift{0, 0})) << "MS1's own stamps";
  std::int64_t sum = 0;
  for (const auto leg : {Leg::kMs1ToMs2, Leg::kMs2ToMs3, Leg::kMs3ToMs1}) sum += leg_shift(leg, clocks)->shift_us;
  EXPECT_EQ(sum, 0) << "the corrected hops add up to the cycle";
}

TEST(ClockCorrection, ALegWithoutTheEstimatesItNeedsHasNoCorrection) {
  EXPECT_EQ(leg_shifts({}), (std::array<std::optional<LegShift>, kLegCount>{})) << "no estimate: nothing corrected";
  const SessionClocks only_ms2{clock(Hop::kMs2, 10, 3), std::nullopt};
  EXPECT_EQ(leg_shift(Leg::kMs1ToMs2, only_ms2), (LegShift{10, 3}));
  EXPECT_FALSE(leg_shift(Leg::kMs2ToMs3, only_ms2)) << "needs MS3's clock too";
  EXPECT_FALSE(leg_shift(Leg::kMs3ToMs1, only_ms2));
  EXPECT_EQ(leg_shift(Leg::kCycle, only_ms2), (LegShift{0, 0}));
  const SessionClocks only_ms3{std::nullopt, clock(Hop::kMs3, -7, 2)};
  EXPECT_FALSE(leg_shift(Leg::kMs1ToMs2, only_ms3));
  EXPECT_EQ(leg_shift(Leg::kMs3ToMs1, only_ms3), (LegShift{7, 2}));
}

TEST(ClockCorrection, StoredStampsOfEitherNamingAreTheirClocks) {
  EXPECT_EQ(clock_of_stamp("service2_timestamp"), Hop::kMs2);
  EXPECT_EQ(clock_of_stamp("MC2_timestamp"), Hop::kMs2);
  EXPECT_EQ(clock_of_stamp("service3_timestamp"), Hop::kMs3);
  EXPECT_EQ(clock_of_stamp("MC3_timestamp"), Hop::kMs3);
  for (const auto* other : {"service1_timestamp", "MC1_timestamp", "end_timestamp", "mc2_timestamp", ""}) {
    EXPECT_FALSE(clock_of_stamp(other)) << other;
  }
  EXPECT_EQ(clock_index(Hop::kMs2), 0u);
  EXPECT_EQ(clock_index(Hop::kMs3), 1u);
  EXPECT_FALSE(clock_index(Hop::kMs1));
  EXPECT_FALSE(clock_index(Hop::kEnd));
}

TEST(ClockCorrection, KeepClockTakesTheClockFromTheStampAndPrefersTheSessionsSpelling) {
  SessionClocks clocks;
  keep_clock(clocks, "MC3_timestamp", clock(Hop::kMs2, 5, 1), "service");
  ASSERT_TRUE(clocks[1]);
  EXPECT_EQ(clocks[1]->clock, Hop::kMs3) << "the stamp says whose clock it is";
  EXPECT_EQ(clocks[1]->offset_us, 5);
  keep_clock(clocks, "service3_timestamp", clock(Hop::kMs3, 6, 1), "service");
  EXPECT_EQ(clocks[1]->offset_us, 6) << "the session's own naming wins";
  keep_clock(clocks, "MC3_timestamp", clock(Hop::kMs3, 7, 1), "service");
  EXPECT_EQ(clocks[1]->offset_us, 6) << "and is not replaced by the other spelling";
  keep_clock(clocks, "end_timestamp", clock(Hop::kMs2, 8, 1), "service");
  EXPECT_FALSE(clocks[0]) << "a stamp of no peer clock is left out";
}

TEST(ClockCorrection, CountsAreShiftedAndTheHistogramRebucketed) {
  // MS2 80 ms ahead: the raw hop reads 80.1 … 80.3 ms, the real one 0.1 … 0.3 ms.
  const std::map<std::int64_t, std::int64_t> raw{{80100, 1}, {80200, 2}, {80300, 1}};
  const auto corrected = corrected_from_counts(raw, {80000, 71});
  EXPECT_EQ(corrected.uncertainty_us, 71);
  const auto& s = corrected.stats;
  EXPECT_EQ(std::tie(s.count, s.min_us, s.p50_us, s.p90_us, s.p99_us, s.max_us),
            std::make_tuple(std::int64_t{4}, std::int64_t{100}, std::int64_t{200}, std::int64_t{300}, std::int64_t{300},
                            std::int64_t{300}));
  EXPECT_EQ(s.buckets, (std::vector<Bucket>{{20, 1}, {21, 0}, {22, 0}, {23, 2}, {24, 1}}))
      << "100 µs is 10^2 (bucket 20); 200 in [199.5, 251.2) (23); 300 in [251.2, 316.2) (24)";
  EXPECT_EQ(detail::stats_from_counts(raw).buckets, (std::vector<Bucket>{{49, 4}})) << "raw: all in [79.4, 100) ms";
  EXPECT_FALSE(corrected.below_uncertainty);
}

TEST(ClockCorrection, ValuesShiftedBelowZeroFallInTheFirstBucket) {
  const auto corrected = corrected_from_counts({{5, 1}, {40, 1}, {1000, 1}}, {20, 30});
  EXPECT_EQ(corrected.stats.min_us, -15);
  EXPECT_EQ(corrected.stats.p50_us, 20);
  EXPECT_EQ(corrected.stats.buckets.front(), (Bucket{0, 1})) << "−15 µs";
  EXPECT_TRUE(corrected.below_uncertainty) << "p50 20 µs <= 30 µs";
}

TEST(ClockCorrection, BelowUncertaintyIsTheCorrectedMedianAtOrBelowIt) {
  EXPECT_TRUE(below_uncertainty(100, 100));
  EXPECT_FALSE(below_uncertainty(101, 100));
  EXPECT_TRUE(below_uncertainty(-3, 0));
  EXPECT_TRUE(below_uncertainty(0, 0)) << "a cycle of zero is no length at all";
  EXPECT_TRUE(corrected_from_counts({{100, 1}}, {0, 100}).below_uncertainty);
  EXPECT_FALSE(corrected_from_counts({{101, 1}}, {0, 100}).below_uncertainty);
  EXPECT_FALSE(corrected_from_counts({}, {0, 100}).below_uncertainty) << "no rows, no flag";
}

TEST(ClockCorrection, RankedFiguresShiftLikeTheCountsOnes) {
  std::mt19937_64 random(7);
  std::uniform_int_distribution<std::int64_t> spread(-2000, 90000);
  std::map<std::int64_t, std::int64_t> counts;
  for (int i = 0; i < 5000; ++i) ++counts[spread(random)];
  const LegShift shift{-130000, 137};
  const auto from_counts = corrected_from_counts(counts, shift);
  const auto from_stats = corrected_from_stats(detail::stats_from_counts(counts), shift, from_counts.stats.buckets);
  EXPECT_EQ(from_stats, from_counts) << "a constant shift moves every nearest-rank figure by exactly itself";
  const auto empty = corrected_from_stats(LegStats{}, shift, {{3, 1}});
  EXPECT_EQ(empty.stats, LegStats{}) << "no rows: no figures and no buckets";
  EXPECT_EQ(empty.uncertainty_us, 137);
}

TEST(ClockCorrection, SkewedHopsCorrectBackToTheTrueOnes) {
  // True hop latencies, stamped by clocks 80 ms ahead (MS2) and 50 ms behind (MS3).
  const auto clocks = skewed();
  std::array<std::map<std::int64_t, std::int64_t>, kLegCount> truth, raw;
  std::mt19937_64 random(3);
  std::uniform_int_distribution<std::int64_t> hop(20, 900);
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t a = hop(random), b = hop(random), c = hop(random);
    const std::array<std::int64_t, kLegCount> real{a, b, c, a + b + c};
    const std::array<std::int64_t, kLegCount> read{a + 80000, b - 130000, c + 50000, a + b + c};
    for (std::size_t leg = 0; leg < kLegCount; ++leg) {
      ++truth[leg][real[leg]];
      ++raw[leg][read[leg]];
    }
  }
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    const auto corrected = corrected_from_counts(raw[leg], *leg_shift(static_cast<Leg>(leg), clocks));
    EXPECT_EQ(corrected.stats, detail::stats_from_counts(truth[leg])) << to_string(static_cast<Leg>(leg));
  }
}

TEST(ClockCorrection, AMessagesLegIsCorrectedOnlyWithItsStampsAndAShift) {
  EXPECT_EQ(corrected_value(80150, LegShift{80000, 71}), 150);
  EXPECT_FALSE(corrected_value(std::nullopt, LegShift{80000, 71})) << "a stamp missing";
  EXPECT_FALSE(corrected_value(80150, std::nullopt)) << "no estimate";
}

}  // namespace
