#include "ringtrace/ms2/log_throttle.hpp"

#include <gtest/gtest.h>

namespace ringtrace::ms2 {
namespace {

TEST(LogThrottle, LetsABurstThroughThenReportsWhatItHeldBack) {
  LogThrottle throttle(2, std::chrono::seconds(1));
  const auto t0 = LogThrottle::Clock::time_point{} + std::chrono::hours(1);
  std::uint64_t suppressed = 99;
  EXPECT_TRUE(throttle.allow(suppressed, t0));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(throttle.allow(suppressed, t0));
  EXPECT_FALSE(throttle.allow(suppressed, t0));
  EXPECT_FALSE(throttle.allow(suppressed, t0 + std::chrono::milliseconds(999)));
  EXPECT_TRUE(throttle.allow(suppressed, t0 + std::chrono::seconds(1)));
  EXPECT_EQ(suppressed, 2u);
  EXPECT_TRUE(throttle.allow(suppressed, t0 + std::chrono::seconds(1)));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace ringtrace::ms2
