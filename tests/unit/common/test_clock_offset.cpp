// The four-timestamp clock estimate, the slot filter that keeps the best of recent exchanges, and
// the strict wire forms of the probes and the /store headers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <string>

#include "ringtrace/common/clock_offset.hpp"

using namespace ringtrace::common;
using std::chrono::microseconds;

namespace {

Timestamp at(std::int64_t us) { return Timestamp{microseconds{us}}; }

constexpr std::int64_t kBase = 1'790'000'000'000'000;  // a whole second, in 2026

/// An exchange with the peer `offset` µs ahead, `out`/`back` µs of transit and `held` µs at the peer.
ClockSample exchange(std::int64_t t1, std::int64_t offset, std::int64_t out, std::int64_t held, std::int64_t back) {
  const std::int64_t t2 = t1 + out + offset;
  const std::int64_t t3 = t2 + held;
  const std::int64_t t4 = t3 - offset + back;
  return {at(t1), at(t2), at(t3), at(t4)};
}

TEST(ClockEstimate, SymmetricPathGivesTheOffsetAndHalfTheNetRoundTrip) {
  const auto e = estimate(exchange(kBase, 80'000, 100, 50, 100));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset_us, 80'000);
  EXPECT_EQ(e->uncertainty_us, 100) << "round trip 250 less 50 held at the peer, halved";
  EXPECT_EQ(e->samples, 1);
  EXPECT_EQ(e->measured_at, at(kBase + 250));
}

TEST(ClockEstimate, AsymmetricPathStaysWithinTheUncertainty) {
  for (std::int64_t out : {0, 1, 7, 300, 999}) {
    for (std::int64_t back : {0, 1, 4, 500}) {
      const std::int64_t offset = -50'003;
      const auto e = estimate(exchange(kBase, offset, out, 11, back));
      ASSERT_TRUE(e);
      EXPECT_LE(std::abs(e->offset_us - offset), e->uncertainty_us) << "out " << out << " back " << back;
      EXPECT_EQ(e->uncertainty_us, (out + back + 1) / 2);
    }
  }
}

TEST(ClockEstimate, CausalityViolationsAreRejected) {
  auto s = exchange(kBase, 0, 100, 10, 100);
  s.t4 = at(kBase - 1);
  EXPECT_FALSE(estimate(s)) << "the answer came back before the request left";
  s = exchange(kBase, 0, 100, 10, 100);
  s.t3 = s.t2 - microseconds{1};
  EXPECT_FALSE(estimate(s)) << "the peer answered before it received";
  s = exchange(kBase, 0, 10, 1000, 10);
  s.t4 = s.t1 + microseconds{500};  // round trip shorter than the peer's own time
  EXPECT_FALSE(estimate(s));
  EXPECT_FALSE(estimate({at(0), at(std::numeric_limits<std::int64_t>::max()), at(std::numeric_limits<std::int64_t>::max()), at(1)}))
      << "absurd spans are refused, not overflowed";
}

TEST(ClockFilter, KeepsTheTightestExchangeOfRecentSlots) {
  ClockFilter filter;
  EXPECT_FALSE(filter.best(at(kBase)));
  EXPECT_TRUE(filter.add(exchange(kBase, 1000, 400, 0, 400)));          // ±400, second 0
  EXPECT_TRUE(filter.add(exchange(kBase + 100'000, 1000, 30, 0, 30)));  // ±30, second 0
  EXPECT_TRUE(filter.add(exchange(kBase + 1'000'000, 990, 200, 0, 200)));  // ±200, second 1
  auto best = filter.best(at(kBase + 1'500'000));
  ASSERT_TRUE(best);
  EXPECT_EQ(best->uncertainty_us, 30);
  EXPECT_EQ(best->offset_us, 1000);
  EXPECT_EQ(best->samples, 3) << "every exchange of the kept slots";
  EXPECT_EQ(filter.accepted(), 3u);
}

TEST(ClockFilter, AgesSlotsOutAfterEightSeconds) {
  ClockFilter filter;
  filter.add(exchange(kBase, 5, 10, 0, 10));                 // ±10 in second 0
  filter.add(exchange(kBase + 3'000'000, 7, 100, 0, 100));   // ±100 in second 3
  EXPECT_EQ(filter.best(at(kBase + 7'999'999))->uncertainty_us, 10) << "second 0 is still one of the last 8";
  auto later = filter.best(at(kBase + 8'000'000));
  ASSERT_TRUE(later);
  EXPECT_EQ(later->uncertainty_us, 100) << "second 0 aged out";
  EXPECT_EQ(later->samples, 1);
  EXPECT_FALSE(filter.best(at(kBase + 11'000'000))) << "all aged out";
  // A slot is reused once its second is eight behind: the new second's exchange replaces it.
  filter.add(exchange(kBase + 8'000'000, 9, 50, 0, 50));
  EXPECT_EQ(filter.best(at(kBase + 8'000'000))->offset_us, 9);
  EXPECT_EQ(filter.best()->offset_us, 9) << "best() is as of the newest exchange";
  // An exchange older than every kept slot counts as taken but changes nothing.
  EXPECT_TRUE(filter.add(exchange(kBase, 1, 1, 0, 1)));
  EXPECT_EQ(filter.best(at(kBase + 8'000'000))->offset_us, 9);
}

TEST(ClockFilter, RejectedExchangesAreCountedAndIgnored) {
  ClockFilter filter;
  auto bad = exchange(kBase, 0, 100, 10, 100);
  bad.t4 = at(kBase - 10);
  EXPECT_FALSE(filter.add(bad));
  EXPECT_EQ(filter.rejected(), 1u);
  EXPECT_EQ(filter.accepted(), 0u);
  EXPECT_FALSE(filter.best(at(kBase)));
  EXPECT_FALSE(filter.best());
}

TEST(ClockCodec, ProbeAndReplyRoundTrip) {
  const ClockProbe probe{42, at(kBase + 123)};
  const auto text = format_probe(probe);
  EXPECT_EQ(text, "RTC1 42 1790000000000123");
  const auto parsed = parse_probe(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->seq, 42u);
  EXPECT_EQ(parsed->t1, probe.t1);

  const ClockReply reply{std::numeric_limits<std::uint64_t>::max(), at(1), at(0), at(std::numeric_limits<std::int64_t>::max())};
  const auto reply_text = format_reply(reply);
  EXPECT_EQ(reply_text, "RTC1 18446744073709551615 1 0 9223372036854775807");
  EXPECT_LE(reply_text.size(), 125u) << "fits a control frame";
  const auto back = parse_reply(reply_text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seq, reply.seq);
  EXPECT_EQ(back->t1, reply.t1);
  EXPECT_EQ(back->t2, reply.t2);
  EXPECT_EQ(back->t3, reply.t3);
  EXPECT_FALSE(parse_probe(reply_text)) << "a reply is not a probe";
  EXPECT_FALSE(parse_reply(text)) << "a probe is not a reply";
}

TEST(ClockCodec, MalformedProbesAreRefused) {
  for (const char* bad : {"", "RTC1", "RTC1 ", "RTC1 1", "RTC1 1 ", "rtc1 1 2", "RTC2 1 2", "RTC1  1 2", "RTC1 1  2",
                          "RTC1 01 2", "RTC1 1 02", "RTC1 -1 2", "RTC1 1 -2", "RTC1 +1 2", "RTC1 1 2 ", " RTC1 1 2",
                          "RTC1 1 2x", "RTC1 1 9223372036854775808", "RTC1 18446744073709551616 2", "RTC1 1\t2"}) {
    EXPECT_FALSE(parse_probe(bad)) << "'" << bad << "'";
  }
  for (const char* bad : {"RTC1 1 2 3", "RTC1 1 2 3 4 ", "RTC1 1 2 3 4 5", "RTC1 1 2 3 04", "RTC1 1 2 3 -4"}) {
    EXPECT_FALSE(parse_reply(bad)) << "'" << bad << "'";
  }
  EXPECT_TRUE(parse_reply("RTC1 0 0 0 0"));
}

TEST(ClockCodec, StampHeaderRoundTripsAndIsStrict) {
  const ClockStamps stamps{at(kBase + 1), at(kBase + 22)};
  EXPECT_EQ(format_clock_stamps(stamps), "1790000000000001 1790000000000022");
  const auto parsed = parse_clock_stamps(format_clock_stamps(stamps));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->t2, stamps.t2);
  EXPECT_EQ(parsed->t3, stamps.t3);
  for (const char* bad : {"", "1", "1 ", " 1 2", "1 2 ", "1  2", "1 2 3", "01 2", "1 -2", "1,2", "a b"}) {
    EXPECT_FALSE(parse_clock_stamps(bad)) << "'" << bad << "'";
  }
}

TEST(ClockCodec, OffsetReportRoundTripsAndIsStrict) {
  for (std::int64_t offset : {std::int64_t{0}, std::int64_t{-50'000}, std::int64_t{80'000},
                              std::numeric_limits<std::int64_t>::min() + 1, std::numeric_limits<std::int64_t>::max()}) {
    const ClockEstimate e{offset, 123, 45, at(kBase)};
    const auto text = format_clock_report(e);
    const auto parsed = parse_clock_report(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(parsed->offset_us, offset);
    EXPECT_EQ(parsed->uncertainty_us, 123);
    EXPECT_EQ(parsed->samples, 45);
    EXPECT_EQ(parsed->measured_at, Timestamp{}) << "the receiver dates a report";
  }
  EXPECT_EQ(format_clock_report({-7, 3, 2, {}}), "offset_us=-7;uncertainty_us=3;samples=2");
  for (const char* bad : {"", "offset_us=1", "offset_us=1;uncertainty_us=2", "offset_us=1;uncertainty_us=2;samples=",
                          "offset_us=-0;uncertainty_us=2;samples=3", "offset_us=+1;uncertainty_us=2;samples=3",
                          "offset_us=1;uncertainty_us=-2;samples=3", "offset_us=1; uncertainty_us=2;samples=3",
                          "uncertainty_us=2;offset_us=1;samples=3", "offset_us=1;uncertainty_us=2;samples=3;",
                          "offset_us=01;uncertainty_us=2;samples=3", "offset_us=1;uncertainty_us=9223372036854775808;samples=3",
                          "offset_us=-9223372036854775809;uncertainty_us=2;samples=3", "OFFSET_US=1;uncertainty_us=2;samples=3"}) {
    EXPECT_FALSE(parse_clock_report(bad)) << "'" << bad << "'";
  }
}

}  // namespace
