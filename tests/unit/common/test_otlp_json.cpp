/// @file
/// The OTLP/HTTP JSON encoding: shape, field types, escaping, non-finite doubles.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <boost/json.hpp>

#include "ringtrace/common/tracing.hpp"
#include "tracing_fixtures.hpp"

using namespace ringtrace::common;
using namespace ringtrace::common::tracing;
using namespace tracing_test;

namespace json = boost::json;

namespace {

bool is_lower_hex(const std::string& s, std::size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_decimal(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

TEST(OtlpJson, ResourceAndScopeShape) {
  const auto doc = json::parse(to_otlp_json("ms1", {sample_span(true)}));
  const auto& rs = doc.at("resourceSpans").as_array();
  ASSERT_EQ(rs.size(), 1U);
  const auto& attrs = rs.at(0).at("resource").at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 1U);
  EXPECT_EQ(attrs.at(0).at("key").as_string(), "service.name");
  EXPECT_EQ(attrs.at(0).at("value").at("stringValue").as_string(), "ms1");
  const auto& ss = rs.at(0).at("scopeSpans").as_array();
  ASSERT_EQ(ss.size(), 1U);
  EXPECT_EQ(ss.at(0).at("scope").at("name").as_string(), "ringtrace");
  EXPECT_EQ(ss.at(0).at("spans").as_array().size(), 1U);
}

TEST(OtlpJson, SpanFieldsAndTypes) {
  const auto doc = json::parse(to_otlp_json("ms2", {sample_span(true), sample_span(false)}));
  const auto& spans = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array();
  ASSERT_EQ(spans.size(), 2U);
  for (const auto& value : spans) {
    const auto& span = value.as_object();
    ASSERT_TRUE(span.at("traceId").is_string());
    EXPECT_TRUE(is_lower_hex(std::string(span.at("traceId").as_string()), 32));
    EXPECT_EQ(span.at("traceId").as_string(), kTrace);
    EXPECT_TRUE(is_lower_hex(std::string(span.at("spanId").as_string()), 16));
    ASSERT_TRUE(span.at("kind").is_int64());
    ASSERT_TRUE(span.at("startTimeUnixNano").is_string());
    ASSERT_TRUE(span.at("endTimeUnixNano").is_string());
    EXPECT_EQ(span.at("startTimeUnixNano").as_string(), "1700000000123456789");
    EXPECT_EQ(span.at("endTimeUnixNano").as_string(), "1700000000223456789");
    EXPECT_TRUE(is_decimal(std::string(span.at("startTimeUnixNano").as_string())));

    const auto& attrs = span.at("attributes").as_array();
    ASSERT_EQ(attrs.size(), 4U);
    EXPECT_EQ(attrs.at(0).at("key").as_string(), "messaging.system");
    EXPECT_EQ(attrs.at(0).at("value").at("stringValue").as_string(), "kafka");
    ASSERT_TRUE(attrs.at(1).at("value").at("intValue").is_string());
    EXPECT_EQ(attrs.at(1).at("value").at("intValue").as_string(), "-9007199254740993");
    EXPECT_EQ(attrs.at(2).at("value").at("boolValue").as_bool(), true);
    EXPECT_DOUBLE_EQ(attrs.at(3).at("value").at("doubleValue").to_number<double>(), 0.5);
    for (const auto& attr : attrs) EXPECT_EQ(attr.at("value").as_object().size(), 1U);
  }
  const auto& root = spans.at(0).as_object();
  const auto& child = spans.at(1).as_object();
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(child.at("parentSpanId").as_string(), "1111111111111111");
  EXPECT_EQ(root.at("name").as_string(), "root \"quoted\"\n\\");  // escaped on the wire, intact here
  EXPECT_EQ(root.at("kind").as_int64(), 2);
  EXPECT_EQ(child.at("kind").as_int64(), 4);
  EXPECT_EQ(root.at("status").at("code").as_int64(), 2);
  EXPECT_EQ(root.at("status").at("message").as_string(), "db \"down\"");
  EXPECT_EQ(child.at("status").at("code").as_int64(), 1);
  EXPECT_FALSE(child.at("status").as_object().contains("message"));
}

TEST(OtlpJson, NonFiniteDoublesStayValidJson) {
  SpanData span = sample_span(true);
  span.attributes = {{"nan", std::nan("")}, {"inf", HUGE_VAL}};
  const auto doc = json::parse(to_otlp_json("ms1", {span}));
  const auto& attrs = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).at("attributes");
  EXPECT_EQ(attrs.at(0).at("value").at("doubleValue").as_string(), "NaN");
  EXPECT_EQ(attrs.at(1).at("value").at("doubleValue").as_string(), "Infinity");
}

TEST(OtlpJson, EmptyBatchIsValid) {
  const auto doc = json::parse(to_otlp_json("ms3", {}));
  EXPECT_TRUE(doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().empty());
}

TEST(OtlpJson, DroppedAttributesAreCounted) {
  SpanData span = sample_span(true);
  span.dropped_attributes = 3;
  const auto doc = json::parse(to_otlp_json("ms1", {span, sample_span(false)}));
  const auto& spans = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans");
  EXPECT_EQ(spans.at(0).at("droppedAttributesCount").as_int64(), 3);
  EXPECT_FALSE(spans.at(1).as_object().contains("droppedAttributesCount"));
}
