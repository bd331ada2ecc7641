#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ringtrace/common/metrics.hpp"

using namespace ringtrace::common;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(Metrics, CounterAndGaugeRenderWithHelpAndType) {
  MetricsRegistry registry;
  auto& sent = registry.counter("ringtrace_sent_total", "Messages sent");
  auto& depth = registry.gauge("ringtrace_depth", "Queue depth");
  sent.inc();
  sent.inc(41);
  depth.set(3.5);
  depth.add(-1);
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "# HELP ringtrace_sent_total Messages sent\n# TYPE ringtrace_sent_total counter\n"
                             "ringtrace_sent_total 42\n"))
      << text;
  EXPECT_TRUE(contains(text, "# TYPE ringtrace_depth gauge\nringtrace_depth 2.5\n")) << text;
  EXPECT_LT(text.find("ringtrace_sent_total"), text.find("ringtrace_depth")) << "registration order";
}

TEST(Metrics, SeriesOfOneNameShareOneHeader) {
  MetricsRegistry registry;
  registry.counter("req_total", "Requests", {{"outcome", "ok"}}).inc(2);
  registry.counter("req_total", "Requests", {{"outcome", "bad"}}).inc(1);
  const auto text = registry.render();
  EXPECT_EQ(text, "# HELP req_total Requests\n# TYPE req_total counter\n"
                  "req_total{outcome=\"ok\"} 2\nreq_total{outcome=\"bad\"} 1\n");
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry registry;
  registry.gauge("g", "line one\nback\\slash", {{"path", "a\"b\\c\nd"}}).set(1);
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "# HELP g line one\\nback\\\\slash\n")) << text;
  EXPECT_TRUE(contains(text, "g{path=\"a\\\"b\\\\c\\nd\"} 1\n")) << text;
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry registry;
  auto& h = registry.histogram("lat_seconds", "Latency", {0.001, 0.01, 0.1}, {{"hop", "ws"}});
  h.observe(0.0005);
  h.observe(0.001);  // on a bound: counts in that bucket (le = less or equal)
  h.observe(0.05);
  h.observe(3.0);
  h.observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "# TYPE lat_seconds histogram\n")) << text;
  EXPECT_TRUE(contains(text, "lat_seconds_bucket{hop=\"ws\",le=\"0.001\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "lat_seconds_bucket{hop=\"ws\",le=\"0.01\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "lat_seconds_bucket{hop=\"ws\",le=\"0.1\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "lat_seconds_bucket{hop=\"ws\",le=\"+Inf\"} 4\n")) << text;
  EXPECT_TRUE(contains(text, "lat_seconds_sum{hop=\"ws\"} 3.0515\n")) << text;
  EXPECT_TRUE(contains(text, "lat_seconds_count{hop=\"ws\"} 4\n")) << text;
}

TEST(Metrics, CallbackSeriesAreReadAtScrapeTime) {
  MetricsRegistry registry;
  double value = 1;
  registry.gauge_fn("live", "Read when scraped", [&] { return value; });
  registry.counter_fn("live_total", "Read when scraped", [&] { return value * 10; });
  EXPECT_TRUE(contains(registry.render(), "live 1\n"));
  value = 7;
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "live 7\n")) << text;
  EXPECT_TRUE(contains(text, "live_total 70\n")) << text;
  value = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(contains(registry.render(), "live +Inf\n"));
}

TEST(Metrics, RegistrationMistakesAreRefused) {
  MetricsRegistry registry;
  registry.counter("c_total", "help");
  EXPECT_THROW(registry.counter("c_total", "help"), std::invalid_argument) << "same series twice";
  EXPECT_THROW(registry.gauge("c_total", "help", {{"a", "b"}}), std::invalid_argument) << "another type";
  EXPECT_THROW(registry.counter("c_total", "other help", {{"a", "b"}}), std::invalid_argument) << "another help";
  EXPECT_THROW(registry.counter("9bad", "help"), std::invalid_argument);
  EXPECT_THROW(registry.counter("bad-name", "help"), std::invalid_argument);
  EXPECT_THROW(registry.counter("ok_total", "help", {{"le", "1"}}), std::invalid_argument) << "reserved label";
  EXPECT_THROW(registry.counter("ok_total", "help", {{"__x", "1"}}), std::invalid_argument) << "reserved prefix";
  EXPECT_THROW(registry.histogram("h", "help", {1.0, 1.0}), std::invalid_argument) << "bounds not ascending";
  EXPECT_THROW(registry.histogram("h2", "help", {std::numeric_limits<double>::infinity()}), std::invalid_argument);
  EXPECT_NO_THROW(registry.counter("c_total", "help", {{"a", "b"}}));
  EXPECT_NO_THROW(registry.histogram("h", "help", {1.0, 2.0})) << "a refused histogram did not register its name";
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  auto& counter = registry.counter("n_total", "n");
  auto& histogram = registry.histogram("h", "h", latency_buckets());
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        counter.inc();
        histogram.observe(0.001);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), static_cast<std::uint64_t>(kThreads * kEach));
  const auto snap = histogram.snapshot();
  EXPECT_EQ(snap.count, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_NEAR(snap.sum, kThreads * kEach * 0.001, 1e-6);
}

TEST(Metrics, LatencyBucketsSpanMicrosecondsToSeconds) {
  const auto bounds = latency_buckets();
  ASSERT_FALSE(bounds.empty());
  EXPECT_LE(bounds.front(), 100e-6);
  EXPECT_GE(bounds.back(), 5.0);
  EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
}

TEST(Metrics, ReadAtomicFollowsTheCountItReads) {
  std::atomic<std::uint64_t> count{5};
  MetricsRegistry registry;
  registry.counter_fn("kept_total", "Kept elsewhere", read_atomic(count));
  EXPECT_TRUE(contains(registry.render(), "kept_total 5\n"));
  count.fetch_add(2);
  EXPECT_TRUE(contains(registry.render(), "kept_total 7\n"));
}
