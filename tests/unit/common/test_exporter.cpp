/// @file
/// The batching exporter against an in-process collector on 127.0.0.1: batches, both protocols,
/// reconnects, failures, health log lines, a full queue, an unreachable collector.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "otlp_decoder.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/test/fake_http_server.hpp"
#include "ringtrace/test/wait.hpp"
#include "tracing_fixtures.hpp"

using namespace ringtrace::common;
using namespace ringtrace::common::tracing;
using namespace tracing_test;

namespace json = boost::json;
using namespace std::chrono_literals;
using ringtrace::test::eventually;

TEST(Exporter, FlushSendsBatchesOfAtMostBatchMax) {
  for (const auto& [protocol, content_type] : {std::pair{TracingProtocol::kHttpProtobuf, "application/x-protobuf"},
                                              std::pair{TracingProtocol::kHttpJson, "application/json"}}) {
    SCOPED_TRACE(std::string(to_string(protocol)));
    Collector collector;
    constexpr int kSpans = 10;
    constexpr int kBatch = 4;
    Tracer tracer(exporter_config(collector.url(), kBatch, 8192, 60'000, 2000, protocol), "ms1");
    for (int i = 0; i < kSpans; ++i) tracer.start_span("s" + std::to_string(i), SpanKind::kInternal).end();
    tracer.flush();
    const auto posts = collector.posts();
    EXPECT_EQ(posts.size(), static_cast<std::size_t>((kSpans + kBatch - 1) / kBatch));
    EXPECT_EQ(collector.span_count(), static_cast<std::size_t>(kSpans));
    std::set<std::string> names;
    for (const auto& post : posts) {
      EXPECT_EQ(post.target, "/v1/traces");
      EXPECT_EQ(post.content_type, content_type);
      EXPECT_EQ(Collector::service_of(post), "ms1");
      const auto spans = Collector::span_names(post);
      EXPECT_LE(spans.size(), static_cast<std::size_t>(kBatch));
      names.insert(spans.begin(), spans.end());
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(kSpans));
    EXPECT_EQ(tracer.stats().exported, static_cast<std::uint64_t>(kSpans));
    EXPECT_EQ(tracer.stats().dropped, 0U);
    EXPECT_EQ(collector.connections(), 1);  // kept alive across POSTs
  }
}

TEST(Exporter, BodiesDecodeInBothProtocols) {
  for (const auto protocol : {TracingProtocol::kHttpProtobuf, TracingProtocol::kHttpJson}) {
    SCOPED_TRACE(std::string(to_string(protocol)));
    Collector collector;
    Tracer tracer(exporter_config(collector.url(), 512, 8192, 60'000, 2000, protocol), "ms2");
    SpanContext sent;
    {
      auto span = tracer.start_span("kafka produce", SpanKind::kProducer, parse_traceparent(kGood));
      span.set_attribute("messaging.system", std::string("kafka"));
      span.set_attribute("session_id", std::int64_t{42});
      span.set_status(StatusCode::kError, "queue full");
      sent = span.context();
    }
    tracer.flush();
    const auto posts = collector.posts();
    ASSERT_EQ(posts.size(), 1U);
    if (protocol == TracingProtocol::kHttpJson) {
      const auto span = json::parse(posts[0].body).at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
      EXPECT_EQ(span.at("spanId").as_string(), to_hex(sent.span_id.data(), 8));
      EXPECT_EQ(span.at("parentSpanId").as_string(), kSpan);
      EXPECT_EQ(span.at("attributes").at(1).at("value").at("intValue").as_string(), "42");
      EXPECT_EQ(span.at("status").at("message").as_string(), "queue full");
    } else {
      const auto request = decode_request(posts[0].body);
      ASSERT_EQ(request.spans.size(), 1U);
      const auto& span = request.spans[0];
      EXPECT_EQ(service_name(request), "ms2");
      EXPECT_EQ(span.name, "kafka produce");
      EXPECT_EQ(span.kind, 4U);
      EXPECT_EQ(span.trace_id, kTrace);
      EXPECT_EQ(span.span_id, to_hex(sent.span_id.data(), 8));
      EXPECT_EQ(span.parent_span_id, kSpan);
      EXPECT_EQ(attribute(span, "messaging.system").text, "kafka");
      EXPECT_EQ(attribute(span, "session_id").integer, 42);
      EXPECT_EQ(span.status_code, 2U);
      EXPECT_EQ(span.status_message, "queue full");
    }
  }
}

TEST(Exporter, PartialBatchGoesOutAfterTheFlushInterval) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url(), 512, 8192, /*flush_interval_ms=*/50), "ms1");
  tracer.start_span("lonely", SpanKind::kInternal).end();
  EXPECT_TRUE(eventually([&] { return collector.span_count() == 1; }));
  EXPECT_TRUE(eventually([&] { return tracer.stats().exported == 1; }));
}

TEST(Exporter, SpansAreFlushedAtTracerDestruction) {
  Collector collector;
  {
    Tracer tracer(exporter_config(collector.url()), "ms3");
    for (int i = 0; i < 3; ++i) tracer.start_span("last words", SpanKind::kInternal).end();
  }
  EXPECT_EQ(collector.span_count(), 3U);
}

TEST(Exporter, ReconnectsWhenTheCollectorClosesTheConnection) {
  Collector::Options options;
  options.close_after_each = true;
  Collector collector(options);
  Tracer tracer(exporter_config(collector.url()), "ms1");
  for (int i = 0; i < 3; ++i) {
    tracer.start_span("s", SpanKind::kInternal).end();
    tracer.flush();
  }
  EXPECT_EQ(collector.span_count(), 3U);
  EXPECT_EQ(tracer.stats().exported, 3U);
  EXPECT_EQ(tracer.stats().failed, 0U);
  EXPECT_EQ(collector.connections(), 3);
}

TEST(Exporter, ReconnectsWhenTheCollectorDroppedAKeptConnection) {
  Collector::Options options;
  options.close_silently = true;
  Collector collector(options);
  Tracer tracer(exporter_config(collector.url()), "ms1");
  for (int i = 0; i < 3; ++i) {
    tracer.start_span("s", SpanKind::kInternal).end();
    tracer.flush();
    ASSERT_TRUE(eventually([&] { return collector.span_count() == static_cast<std::size_t>(i + 1); }));
  }
  EXPECT_EQ(tracer.stats().exported, 3U);
  EXPECT_EQ(tracer.stats().failed, 0U);
  EXPECT_EQ(collector.span_count(), 3U);  // no duplicates from the reconnect
}

TEST(Exporter, NonSuccessStatusCountsFailed) {
  Collector::Options options;
  options.status = 503;
  Collector collector(options);
  Tracer tracer(exporter_config(collector.url(), 2), "ms1");
  for (int i = 0; i < 5; ++i) tracer.start_span("s", SpanKind::kInternal).end();
  tracer.flush();
  EXPECT_EQ(collector.posts().size(), 3U);  // no retries
  EXPECT_EQ(tracer.stats().failed, 5U);
  EXPECT_EQ(tracer.stats().exported, 0U);
}

TEST(Exporter, UnreachableCollectorIsLoggedOnceAndRecoveryOnce) {
  LogCapture logs;
  const auto port = ringtrace::test::free_port();
  const auto url = "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
  Tracer tracer(exporter_config(url, 1), "ms1");
  for (int i = 0; i < 5; ++i) {
    tracer.start_span("s", SpanKind::kInternal).end();
    tracer.flush();
  }
  EXPECT_EQ(tracer.stats().failed, 5U);
  EXPECT_EQ(logs.count("cannot reach " + url), 1U);
  EXPECT_EQ(logs.count("spans are dropped until it answers"), 1U);

  Collector::Options options;
  options.port = port;
  Collector collector(options);
  for (int i = 0; i < 3; ++i) {
    tracer.start_span("s", SpanKind::kInternal).end();
    tracer.flush();
  }
  EXPECT_EQ(collector.span_count(), 3U);
  EXPECT_EQ(tracer.stats().exported, 3U);
  EXPECT_EQ(logs.count("answers again"), 1U);
  EXPECT_EQ(logs.count("cannot reach"), 1U);
}

TEST(Exporter, FullQueueDropsWithoutBlockingTheCaller) {
  // The collector holds the exporter's first POST for the whole burst, so the exporter drains
  // nothing meanwhile: a finish() that waited for room in the queue would never return while the
  // POST is held, one that drops returns at once. The verdict is the state the burst ends in, not
  // how long it took; the deadline below only turns a blocked caller into a failure instead of a
  // hang, and is hundreds of times what the burst needs under ASan on a loaded machine.
  Collector collector;
  collector.hold();
  constexpr int kQueue = 16;
  constexpr int kBatch = 4;
  constexpr int kBurst = 10'000;
  Tracer tracer(exporter_config(collector.url(), kBatch, kQueue, /*flush_interval_ms=*/1, /*timeout_ms=*/60'000), "ms1");
  std::atomic<bool> burst_done{false};
  std::thread burst([&] {
    for (int i = 0; i < kBurst; ++i) tracer.start_span("burst", SpanKind::kProducer).end();
    burst_done = true;
  });
  const bool returned = eventually([&] { return burst_done.load(); }, 60s);
  const auto during = tracer.stats();
  collector.release();
  burst.join();
  ASSERT_TRUE(returned) << "finish() waited for the exporter while its POST was held";
  EXPECT_EQ(during.exported + during.failed, 0U) << "the held POST was answered during the burst";
  // Accepted: what the queue holds plus the one batch the exporter took into its held POST.
  EXPECT_GE(during.dropped, static_cast<std::uint64_t>(kBurst - kQueue - kBatch));
  EXPECT_LE(during.dropped, static_cast<std::uint64_t>(kBurst - kQueue));
  // Once the collector answers, everything accepted goes out and nothing else was lost.
  tracer.flush();
  ASSERT_TRUE(eventually([&] { return tracer.stats().exported + tracer.stats().dropped == kBurst; }));
  EXPECT_EQ(tracer.stats().failed, 0U);
  EXPECT_EQ(collector.span_count(), tracer.stats().exported);
}

TEST(Exporter, UnreachableCollectorKeepsSpansFromPilingUp) {
  const auto url = "http://127.0.0.1:" + std::to_string(ringtrace::test::free_port()) + "/v1/traces";
  Tracer tracer(exporter_config(url, 8, 64, /*flush_interval_ms=*/5, /*timeout_ms=*/200), "ms1");
  for (int i = 0; i < 100; ++i) tracer.start_span("s", SpanKind::kInternal).end();
  tracer.flush();
  const auto stats = tracer.stats();
  EXPECT_EQ(stats.exported, 0U);
  EXPECT_EQ(stats.failed + stats.dropped, 100U);
}
