/// @file
/// Spans from a Tracer: ids, parent links, attributes, moves, times; exported to an in-process
/// collector on 127.0.0.1 and read back with the test decoder.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "otlp_decoder.hpp"
#include "ringtrace/common/tracing.hpp"
#include "tracing_fixtures.hpp"

using namespace ringtrace::common;
using namespace ringtrace::common::tracing;
using namespace tracing_test;

TEST(Span, RootHasNewTraceAndNoParent) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  auto a = tracer.start_span("a", SpanKind::kServer);
  auto b = tracer.start_span("b", SpanKind::kServer);
  ASSERT_TRUE(a.recording());
  EXPECT_TRUE(a.context().valid());
  EXPECT_NE(a.context().trace_id, b.context().trace_id);
  EXPECT_NE(a.context().span_id, b.context().span_id);
  EXPECT_EQ(a.traceparent(), format_traceparent(a.context()));
  EXPECT_EQ(parse_traceparent(a.traceparent()), a.context());
}

TEST(Span, ChildLinksToParent) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms2");
  {
    auto parent = tracer.start_span("parent", SpanKind::kConsumer);
    auto child = tracer.start_span("child", SpanKind::kProducer, parent.context());
    EXPECT_EQ(child.context().trace_id, parent.context().trace_id);
    EXPECT_NE(child.context().span_id, parent.context().span_id);
    // From a remote parent carried in a traceparent header.
    auto remote = tracer.start_span("remote", SpanKind::kServer, parse_traceparent(kGood));
    EXPECT_EQ(to_hex(remote.context().trace_id.data(), 16), kTrace);
    // An invalid parent starts a new trace.
    auto orphan = tracer.start_span("orphan", SpanKind::kServer, SpanContext{});
    EXPECT_TRUE(orphan.context().valid());
  }
  tracer.flush();
  ASSERT_EQ(collector.span_count(), 4U);
  std::map<std::string, DecodedSpan> by_name;
  for (const auto& post : collector.posts()) {
    for (auto& span : decode_request(post.body).spans) by_name[span.name] = span;
  }
  const auto& parent = by_name.at("parent");
  const auto& child = by_name.at("child");
  EXPECT_FALSE(parent.parent_span_id.has_value());
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_EQ(child.parent_span_id, parent.span_id);
  EXPECT_EQ(by_name.at("remote").trace_id, kTrace);
  EXPECT_EQ(by_name.at("remote").parent_span_id, kSpan);
  EXPECT_FALSE(by_name.at("orphan").parent_span_id.has_value());
}

TEST(Span, DisabledTracerRecordsNothing) {
  Collector collector;
  auto config = exporter_config(collector.url());
  config.enabled = false;
  {
    Tracer tracer(config, "ms1");
    EXPECT_FALSE(tracer.enabled());
    auto span = tracer.start_span("x", SpanKind::kServer, parse_traceparent(kGood));
    EXPECT_FALSE(span.recording());
    EXPECT_FALSE(span.context().valid());
    EXPECT_EQ(span.traceparent(), "");
    span.set_attribute("k", std::int64_t{1});
    span.set_status(StatusCode::kError, "boom");
    span.end();
    tracer.flush();
    const auto stats = tracer.stats();
    EXPECT_EQ(stats.exported + stats.dropped + stats.failed, 0U);
  }
  EXPECT_TRUE(collector.posts().empty());
  EXPECT_EQ(collector.connections(), 0);
}

TEST(Span, DefaultSpanIsInert) {
  Span span;
  EXPECT_FALSE(span.recording());
  span.set_attribute("k", "v");
  span.end();
  span.end();
}

// Keys are kept as views, so only literals may become keys: a runtime string does not compile.
static_assert(!std::is_constructible_v<AttributeKey, std::string>);
static_assert(!std::is_constructible_v<AttributeKey, std::string_view>);

TEST(Span, AttributesBeyondTheLimitAreDroppedAndCounted) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  {
    auto span = tracer.start_span("busy", SpanKind::kInternal);
    for (std::size_t i = 0; i < kMaxAttributes + 2; ++i) span.set_attribute("n", static_cast<std::int64_t>(i));
  }
  tracer.flush();
  ASSERT_EQ(collector.posts().size(), 1U);
  const auto span = decode_request(collector.posts()[0].body).spans.at(0);
  ASSERT_EQ(span.attributes.size(), kMaxAttributes);
  for (std::size_t i = 0; i < kMaxAttributes; ++i) {
    EXPECT_EQ(span.attributes[i].second.integer, static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(span.dropped_attributes, 2U);
}

TEST(Span, StringAttributesKeepTheirType) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  {
    auto span = tracer.start_span("typed", SpanKind::kInternal);
    span.set_attribute("literal", "v");  // a const char*: a string, not a bool
    span.set_attribute("string", std::string(100, 'w'));
    span.set_attribute("flag", true);
    span.set_attribute("ratio", 0.25);
  }
  tracer.flush();
  ASSERT_EQ(collector.posts().size(), 1U);
  const auto span = decode_request(collector.posts()[0].body).spans.at(0);
  EXPECT_EQ(attribute(span, "literal").member, 1U);
  EXPECT_EQ(attribute(span, "literal").text, "v");
  EXPECT_EQ(attribute(span, "string").text, std::string(100, 'w'));
  EXPECT_EQ(attribute(span, "flag").member, 2U);
  EXPECT_EQ(attribute(span, "ratio").real, 0.25);
}

TEST(Span, TraceparentIsHeldInline) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  auto span = tracer.start_span("a", SpanKind::kServer, parse_traceparent(kGood));
  const Traceparent traceparent = span.traceparent();
  EXPECT_EQ(traceparent.view().size(), Traceparent::kSize);
  EXPECT_FALSE(traceparent.empty());
  std::string assigned = "old";
  assigned = span.traceparent();  // as MS3 keeps it
  EXPECT_EQ(assigned, format_traceparent(span.context()));
  EXPECT_EQ(traceparent, assigned);
  EXPECT_EQ(Traceparent().view(), "");
  EXPECT_TRUE(Traceparent().empty());
  SpanContext unsampled = span.context();
  unsampled.sampled = false;
  EXPECT_EQ(Traceparent(unsampled).view().substr(52), "-00");
}

TEST(Span, MoveTransfersOwnershipAndEndsOnce) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  {
    auto a = tracer.start_span("moved", SpanKind::kInternal);
    const auto context = a.context();
    Span b(std::move(a));
    EXPECT_FALSE(a.recording());  // NOLINT(bugprone-use-after-move): moved-from is defined as inert
    EXPECT_TRUE(b.recording());
    EXPECT_EQ(b.context(), context);
    a.end();  // the moved-from span ends nothing

    Span c;
    c = std::move(b);
    EXPECT_EQ(c.context(), context);
    auto d = tracer.start_span("assigned-over", SpanKind::kInternal);
    d = std::move(c);  // "assigned-over" ends here, "moved" now lives in d
    EXPECT_EQ(d.context(), context);
    d.end();
    d.end();  // second end does nothing
    EXPECT_FALSE(d.recording());
  }
  tracer.flush();
  EXPECT_EQ(collector.span_count(), 2U);
  EXPECT_EQ(tracer.stats().exported, 2U);
}

TEST(Span, TimesAreWallClockAndOrdered) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  const auto before = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  tracer.start_span("t", SpanKind::kInternal).end();
  tracer.flush();
  ASSERT_EQ(collector.span_count(), 1U);
  const auto span = decode_request(collector.posts().at(0).body).spans.at(0);
  const auto start = span.start;
  const auto end = span.end;
  EXPECT_GE(start, before);
  EXPECT_GE(end, start);
  EXPECT_LT(end - before, 60ULL * 1'000'000'000ULL);
}

TEST(Span, QueuedCountsFinishedSpansUntilTheirFateIsKnown) {
  Collector collector;
  // A flush interval far beyond the test: the spans stay queued until flush().
  Tracer tracer(exporter_config(collector.url()), "ms2");
  MetricsRegistry metrics;
  register_metrics(tracer, metrics);
  auto open = tracer.start_span("still open", SpanKind::kInternal);
  for (int i = 0; i < 3; ++i) tracer.start_span("finished", SpanKind::kInternal).end();
  EXPECT_EQ(tracer.stats().queued, 3U);  // an open span is not queued yet
  EXPECT_NE(metrics.render().find("\nringtrace_spans_queued 3\n"), std::string::npos) << metrics.render();
  tracer.flush();
  const auto stats = tracer.stats();
  EXPECT_EQ(stats.queued, 0U);
  EXPECT_EQ(stats.exported, 3U);
  EXPECT_NE(metrics.render().find("\nringtrace_spans_queued 0\n"), std::string::npos) << metrics.render();
  open.end();
}
