// MS1's clock book: MS2's estimate from its own probes, MS3's from its reports (negated), the
// live figures and each session's best.
#include <gtest/gtest.h>

#include "ringtrace/ms1/ring/clock_book.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using std::chrono::microseconds;

namespace {

constexpr std::int64_t kBase = 1'790'000'000'000'000;

common::Timestamp at(std::int64_t us) { return common::Timestamp{microseconds{us}}; }

/// An exchange with MS2 `offset` µs ahead, `transit` µs each way, starting at `t1`.
common::ClockSample ms2_exchange(std::int64_t t1, std::int64_t offset, std::int64_t transit) {
  return {at(t1), at(t1 + transit + offset), at(t1 + transit + offset), at(t1 + 2 * transit)};
}

TEST(ClockBook, NothingKnownAtFirst) {
  ClockBook book;
  EXPECT_FALSE(book.live(common::Hop::kMs2, at(kBase)));
  EXPECT_FALSE(book.live(common::Hop::kMs3, at(kBase)));
  EXPECT_TRUE(book.live_records(at(kBase)).empty());
  book.begin(1);
  EXPECT_TRUE(book.session_records().empty());
}

TEST(ClockBook, Ms3ReportsAreKeptNegatedAndDatedOnArrival) {
  ClockBook book;
  book.add_ms3_report({50'000, 40, 9, at(1)}, at(kBase));
  const auto live = book.live(common::Hop::kMs3, at(kBase + 60'000'000));
  ASSERT_TRUE(live) << "MS3 reports only while it forwards: its latest stays live";
  EXPECT_EQ(live->clock, common::Hop::kMs3);
  EXPECT_EQ(live->offset_us, -50'000);
  EXPECT_EQ(live->uncertainty_us, 40);
  EXPECT_EQ(live->samples, 9);
  EXPECT_EQ(live->measured_at, at(kBase)) << "MS1's clock, not the sender's";
  EXPECT_EQ(book.ms3_reports(), 1u);
}

TEST(ClockBook, Ms2EstimateAgesOutWithItsFilter) {
  ClockBook book;
  EXPECT_TRUE(book.add_ms2_sample(ms2_exchange(kBase, 80'000, 50)));
  auto bad = ms2_exchange(kBase, 80'000, 50);
  bad.t4 = at(kBase - 1);
  EXPECT_FALSE(book.add_ms2_sample(bad));
  EXPECT_EQ(book.ms2_samples(), 1u);
  EXPECT_EQ(book.ms2_rejected(), 1u);
  const auto live = book.live(common::Hop::kMs2, at(kBase + 1'000'000));
  ASSERT_TRUE(live);
  EXPECT_EQ(live->offset_us, 80'000);
  EXPECT_EQ(live->uncertainty_us, 50);
  EXPECT_FALSE(book.live(common::Hop::kMs2, at(kBase + 9'000'000)));
}

TEST(ClockBook, ASessionKeepsTheTightestEstimateSeenWhileItRan) {
  ClockBook book;
  book.add_ms2_sample(ms2_exchange(kBase, 80'000, 5));  // tighter, but before the session
  book.add_ms3_report({50'000, 5, 1, {}}, at(kBase));
  book.begin(7);
  EXPECT_EQ(book.session(), 7);
  auto records = book.session_records();
  ASSERT_EQ(records.size(), 2u) << "nothing yet in the session: the latest stands in";
  EXPECT_EQ(records[0].uncertainty_us, 5);
  book.add_ms2_sample(ms2_exchange(kBase + 20'000'000, 80'100, 300));
  book.add_ms2_sample(ms2_exchange(kBase + 21'000'000, 80'020, 40));
  book.add_ms2_sample(ms2_exchange(kBase + 29'500'000, 80'200, 200));  // the tight one has aged out of the filter
  book.add_ms3_report({50'100, 100, 2, {}}, at(kBase + 20'000'000));
  book.add_ms3_report({50'030, 20, 3, {}}, at(kBase + 21'000'000));
  book.add_ms3_report({50'200, 90, 4, {}}, at(kBase + 22'000'000));
  records = book.session_records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].clock, common::Hop::kMs2);
  EXPECT_EQ(records[0].offset_us, 80'020);
  EXPECT_EQ(records[0].uncertainty_us, 40);
  EXPECT_EQ(records[1].clock, common::Hop::kMs3);
  EXPECT_EQ(records[1].offset_us, -50'030);
  EXPECT_EQ(records[1].uncertainty_us, 20);
  const auto live = book.live_records(at(kBase + 29'500'000));
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].offset_us, 80'200) << "live is the filter's current best";
  EXPECT_EQ(live[1].offset_us, -50'200) << "and MS3's latest report";
}

}  // namespace
