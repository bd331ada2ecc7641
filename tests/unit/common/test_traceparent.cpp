/// @file
/// W3C traceparent: parsing, formatting, the sampled flag, malformed headers.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ringtrace/common/tracing.hpp"
#include "tracing_fixtures.hpp"

using namespace ringtrace::common;
using namespace ringtrace::common::tracing;
using namespace tracing_test;

TEST(Traceparent, ParsesTheW3cExample) {
  const auto context = parse_traceparent(kGood);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(to_hex(context->trace_id.data(), context->trace_id.size()), kTrace);
  EXPECT_EQ(to_hex(context->span_id.data(), context->span_id.size()), kSpan);
  EXPECT_TRUE(context->sampled);
  EXPECT_TRUE(context->valid());
}

TEST(Traceparent, RoundTripsSampledAndUnsampled) {
  auto context = *parse_traceparent(kGood);
  EXPECT_EQ(format_traceparent(context), kGood);
  context.sampled = false;
  const auto text = format_traceparent(context);
  EXPECT_EQ(text, "00-" + kTrace + "-" + kSpan + "-00");
  EXPECT_EQ(parse_traceparent(text), context);
}

TEST(Traceparent, SampledIsBitZeroOfTheFlags) {
  EXPECT_TRUE(parse_traceparent("00-" + kTrace + "-" + kSpan + "-03")->sampled);
  EXPECT_FALSE(parse_traceparent("00-" + kTrace + "-" + kSpan + "-02")->sampled);
}

TEST(Traceparent, RejectsMalformedHeaders) {
  const std::vector<std::string> bad = {
      "",
      kGood + "0",                                                   // too long
      kGood.substr(0, 54),                                           // too short
      kGood + "-00",                                                 // version 00 with extra fields
      "ff-" + kTrace + "-" + kSpan + "-01",                          // version ff is invalid
      "01-" + kTrace + "-" + kSpan + "-01",                          // only version 00 is accepted
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + kSpan + "-01",        // uppercase trace id
      "00-" + kTrace + "-00F067AA0BA902B7-01",                       // uppercase span id
      "00-" + kTrace + "-" + kSpan + "-0A",                          // uppercase flags
      "00-" + std::string(32, '0') + "-" + kSpan + "-01",            // zero trace id
      "00-" + kTrace + "-" + std::string(16, '0') + "-01",           // zero span id
      "00_" + kTrace + "-" + kSpan + "-01",                          // bad dashes
      "00-" + kTrace + "_" + kSpan + "-01",
      "00-" + kTrace + "-" + kSpan + "_01",
      "00-" + kTrace.substr(0, 31) + "-" + "-" + kSpan + "-01",      // dash inside the trace id
      "00-4bf92f3577b34da6a3ce929d0e0e473g-" + kSpan + "-01",        // non-hex
      "00-" + kTrace + "-00f067aa0ba902bz-01",
      "00-" + kTrace + "-" + kSpan + "-0x",
      "0g-" + kTrace + "-" + kSpan + "-01",
  };
  for (const auto& header : bad) EXPECT_FALSE(parse_traceparent(header).has_value()) << "accepted '" << header << "'";
}

TEST(Traceparent, ToHexIsLowercase) {
  const std::uint8_t bytes[] = {0x00, 0xab, 0xcd, 0xef, 0x10};
  EXPECT_EQ(to_hex(bytes, sizeof bytes), "00abcdef10");
}
