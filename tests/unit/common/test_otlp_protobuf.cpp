/// @file
/// The OTLP/HTTP protobuf encoding, checked byte for byte and through a decoder written from the
/// wire format, independent of the encoder.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "otlp_decoder.hpp"
#include "ringtrace/common/tracing.hpp"
#include "tracing_fixtures.hpp"

using namespace ringtrace::common;
using namespace ringtrace::common::tracing;
using namespace tracing_test;

TEST(OtlpProtobuf, OneTinyRequestByteForByte) {
  SpanData span;
  for (std::uint8_t i = 0; i < 16; ++i) span.context.trace_id[i] = static_cast<std::uint8_t>(0x01 + i);
  for (std::uint8_t i = 0; i < 8; ++i) span.context.span_id[i] = static_cast<std::uint8_t>(0x11 + i);
  span.name = "n";
  span.kind = SpanKind::kServer;
  span.start_unix_ns = 1;
  span.end_unix_ns = 2;
  span.attributes = {{"k", std::int64_t{1}}};
  span.status = StatusCode::kError;
  span.status_message = "e";
  // Worked out by hand from the .proto files: tag = field << 3 | wire type (0 varint, 1 fixed64,
  // 2 length-delimited), lengths as varints.
  const std::string expected =
      "0a6b"                                    // ExportTraceServiceRequest.resource_spans (1), 107 bytes
      "0a15"                                    //  ResourceSpans.resource (1), 21 bytes
      "0a13"                                    //   Resource.attributes (1), 19 bytes
      "0a0c" "736572766963652e6e616d65"         //    KeyValue.key (1) "service.name"
      "1203" "0a0173"                           //    KeyValue.value (2): AnyValue.string_value (1) "s"
      "1252"                                    //  ResourceSpans.scope_spans (2), 82 bytes
      "0a0b" "0a0972696e677472616365"           //   ScopeSpans.scope (1): InstrumentationScope.name (1) "ringtrace"
      "1243"                                    //   ScopeSpans.spans (2), 67 bytes
      "0a10" "0102030405060708090a0b0c0d0e0f10" //    Span.trace_id (1)
      "1208" "1112131415161718"                 //    Span.span_id (2)
      "2a01" "6e"                               //    Span.name (5) "n"
      "3002"                                    //    Span.kind (6) SERVER
      "39" "0100000000000000"                   //    Span.start_time_unix_nano (7), fixed64 1
      "41" "0200000000000000"                   //    Span.end_time_unix_nano (8), fixed64 2
      "4a07" "0a016b" "1202" "1801"             //    Span.attributes (9): key "k", value int_value (3) 1
      "7a05" "120165" "1802";                   //    Span.status (15): message (2) "e", code (3) ERROR
  EXPECT_EQ(hex(to_otlp_protobuf("s", {span})), expected);
}

TEST(OtlpProtobuf, DecodesToTheSpansEncoded) {
  const auto request = decode_request(to_otlp_protobuf("ms2", {sample_span(true), sample_span(false)}));
  EXPECT_EQ(request.resource_spans, 1U);
  EXPECT_EQ(request.scope_spans, 1U);
  ASSERT_EQ(request.resource_attributes.size(), 1U);
  EXPECT_EQ(service_name(request), "ms2");
  EXPECT_EQ(request.scope_name, "ringtrace");
  ASSERT_EQ(request.spans.size(), 2U);
  for (const auto& span : request.spans) {
    EXPECT_EQ(span.trace_id, kTrace);
    EXPECT_EQ(span.span_id, kSpan);
    EXPECT_EQ(span.start, 1'700'000'000'123'456'789ULL);
    EXPECT_EQ(span.end, 1'700'000'000'223'456'789ULL);
    ASSERT_EQ(span.attributes.size(), 4U);
    EXPECT_EQ(span.attributes[0].first, "messaging.system");
    EXPECT_EQ(span.attributes[0].second.member, 1U);
    EXPECT_EQ(span.attributes[0].second.text, "kafka");
    EXPECT_EQ(span.attributes[1].first, "messaging.kafka.offset");
    EXPECT_EQ(span.attributes[1].second.member, 3U);
    EXPECT_EQ(span.attributes[1].second.integer, -9'007'199'254'740'993);
    EXPECT_EQ(span.attributes[2].first, "ok");
    EXPECT_EQ(span.attributes[2].second.member, 2U);
    EXPECT_TRUE(span.attributes[2].second.flag);
    EXPECT_EQ(span.attributes[3].first, "ratio");
    EXPECT_EQ(span.attributes[3].second.member, 4U);
    EXPECT_EQ(span.attributes[3].second.real, 0.5);
    EXPECT_EQ(span.dropped_attributes, 0U);
  }
  const auto& root = request.spans[0];
  const auto& child = request.spans[1];
  EXPECT_FALSE(root.parent_span_id.has_value());
  EXPECT_EQ(child.parent_span_id, "1111111111111111");
  EXPECT_EQ(root.name, "root \"quoted\"\n\\");
  EXPECT_EQ(child.name, "kafka produce");
  EXPECT_EQ(root.kind, 2U);
  EXPECT_EQ(child.kind, 4U);
  EXPECT_TRUE(root.has_status);
  EXPECT_EQ(root.status_code, 2U);
  EXPECT_EQ(root.status_message, "db \"down\"");
  EXPECT_EQ(child.status_code, 1U);
  EXPECT_EQ(child.status_message, "");
}

TEST(OtlpProtobuf, EveryValueIsPresentEvenWhenItIsTheDefault) {
  // AnyValue is a oneof: a false, a 0 or an "" must still say which member it is.
  SpanData span = sample_span(true);
  span.attributes = {{"empty", std::string()},
                     {"false", false},
                     {"zero", std::int64_t{0}},
                     {"min", std::numeric_limits<std::int64_t>::min()},
                     {"max", std::numeric_limits<std::int64_t>::max()},
                     {"nan", std::nan("")},
                     {"minus_inf", -HUGE_VAL},
                     {"tiny", 5e-324}};
  const auto decoded = decode_request(to_otlp_protobuf("ms1", {span})).spans.at(0);
  ASSERT_EQ(decoded.attributes.size(), 8U);
  EXPECT_EQ(attribute(decoded, "empty").member, 1U);
  EXPECT_EQ(attribute(decoded, "empty").text, "");
  EXPECT_EQ(attribute(decoded, "false").member, 2U);
  EXPECT_FALSE(attribute(decoded, "false").flag);
  EXPECT_EQ(attribute(decoded, "zero").member, 3U);
  EXPECT_EQ(attribute(decoded, "zero").integer, 0);
  EXPECT_EQ(attribute(decoded, "min").integer, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(attribute(decoded, "max").integer, std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(std::isnan(attribute(decoded, "nan").real));
  EXPECT_EQ(attribute(decoded, "minus_inf").real, -HUGE_VAL);
  EXPECT_EQ(attribute(decoded, "tiny").real, 5e-324);
}

TEST(OtlpProtobuf, StatusIsLeftOutWhenUnset) {
  SpanData span = sample_span(false);
  span.status = StatusCode::kUnset;
  EXPECT_FALSE(decode_request(to_otlp_protobuf("ms1", {span})).spans.at(0).has_status);
}

TEST(OtlpProtobuf, LengthsOfAnySizeAreMinimalVarints) {
  // Every nested length is guessed before the body is written; these outgrow each guess (one
  // byte for attributes, two for a span, three for the batch), and the decoder refuses a length
  // written with more bytes than it needs.
  const std::string service(300, 's');
  SpanData big = sample_span(true);
  big.name = std::string(20'000, 'n');
  big.attributes = {
      {"huge", std::string(3'000'000, 'x')}, {"long", std::string(200, 'y')}, {"short", std::string("z")}};
  std::vector<SpanData> spans(700, sample_span(false));
  spans.push_back(big);
  const auto request = decode_request(to_otlp_protobuf(service, spans));
  EXPECT_EQ(service_name(request), service);
  ASSERT_EQ(request.spans.size(), 701U);
  const auto& last = request.spans.back();
  EXPECT_EQ(last.name, big.name);
  EXPECT_EQ(attribute(last, "huge").text, std::string(3'000'000, 'x'));
  EXPECT_EQ(attribute(last, "long").text, std::string(200, 'y'));
  EXPECT_EQ(attribute(last, "short").text, "z");
  EXPECT_EQ(request.spans.front().name, "kafka produce");
}

TEST(OtlpProtobuf, EmptyBatchIsAValidRequest) {
  const auto request = decode_request(to_otlp_protobuf("ms3", {}));
  EXPECT_EQ(service_name(request), "ms3");
  EXPECT_EQ(request.scope_name, "ringtrace");
  EXPECT_TRUE(request.spans.empty());
}

TEST(OtlpProtobuf, AppendsToAReusedBuffer) {
  std::vector<std::unique_ptr<SpanData>> held;
  held.push_back(std::make_unique<SpanData>(sample_span(true)));
  held.push_back(std::make_unique<SpanData>(sample_span(false)));
  const std::string alone = to_otlp_protobuf("ms1", {sample_span(true), sample_span(false)});
  std::string buffer = "prefix";
  append_otlp_protobuf(buffer, "ms1", held);
  EXPECT_EQ(buffer, "prefix" + alone);
  buffer.clear();  // as the exporter reuses it: the same bytes again
  append_otlp_protobuf(buffer, "ms1", held);
  EXPECT_EQ(buffer, alone);
  std::string json_buffer;
  append_otlp_json(json_buffer, "ms1", held);
  EXPECT_EQ(json_buffer, to_otlp_json("ms1", {sample_span(true), sample_span(false)}));
}

TEST(OtlpProtobuf, DroppedAttributesAreCounted) {
  SpanData span = sample_span(true);
  span.dropped_attributes = 3;
  EXPECT_EQ(decode_request(to_otlp_protobuf("ms1", {span})).spans.at(0).dropped_attributes, 3U);
}
