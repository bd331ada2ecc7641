#pragma once
/// @file
/// Counters, gauges and histograms a service exposes on `GET /metrics` in the Prometheus text
/// format (version 0.0.4). Updates are lock-free atomics, so the message path may record from
/// any thread; only registration and rendering take the registry's lock.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringtrace::common {

/// Content-Type of MetricsRegistry::render()'s output.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// A count that only goes up (events, bytes); resets only with the process.
class Counter {
 public:
  /// Adds `n`.
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  /// The count so far.
  [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down (queue length, lag).
class Gauge {
 public:
  /// Replaces the value.
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  /// Adds `delta` (negative to subtract).
  void add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  /// The current value.
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Observations counted into fixed buckets, so percentiles can be computed by the scraper and
/// aggregated across instances (a summary could not be).
class Histogram {
 public:
  /// What render() prints: cumulative counts per upper bound, then +Inf.
  struct Snapshot {
    std::vector<double> bounds;           ///< upper bounds, ascending
    std::vector<std::uint64_t> cumulative;  ///< observations <= each bound; one more entry for +Inf
    std::uint64_t count = 0;              ///< all observations
    double sum = 0.0;                     ///< their sum
  };

  /// `upper_bounds` must be strictly ascending and finite (throws std::invalid_argument otherwise).
  explicit Histogram(std::vector<double> upper_bounds);
  /// Records one value; O(log buckets), no lock.
  void observe(double value) noexcept;
  /// A consistent-enough copy for rendering (each field is read atomically, not all together).
  [[nodiscard]] Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  ///< per bucket, not cumulative; last is +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

/// Latency buckets in seconds from 50 µs to 10 s: the ring's hops take tens of µs to a few ms,
/// and a stalled hop (reconnect, retry) seconds.
std::vector<double> latency_buckets();

/// A scrape-time reader of a count the service already keeps in an atomic (for counter_fn);
/// `count` must outlive the registry's scrapes.
std::function<double()> read_atomic(const std::atomic<std::uint64_t>& count);

/// Label name/value pairs of one series, printed in the given order.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// The metrics of one process. Register at startup (the references returned stay valid for the
/// registry's life), update from anywhere, render on each scrape.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  /// Registers a counter series; throws std::invalid_argument on a bad name or label, a name
  /// already registered with another type or help, or the same name and labels twice.
  Counter& counter(const std::string& name, const std::string& help, Labels labels = {});
  /// Registers a gauge series (same rules as counter()).
  Gauge& gauge(const std::string& name, const std::string& help, Labels labels = {});
  /// Registers a histogram series (same rules; all series of one name should share bounds).
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                       Labels labels = {});
  /// A counter read at scrape time from a count kept elsewhere (e.g. an existing atomic).
  void counter_fn(const std::string& name, const std::string& help, std::function<double()> read, Labels labels = {});
  /// A gauge read at scrape time (e.g. a queue's current length); `read` runs on the scraping thread.
  void gauge_fn(const std::string& name, const std::string& help, std::function<double()> read, Labels labels = {});

  /// Every series in the text exposition format, families in registration order.
  [[nodiscard]] std::string render() const;

 private:
  struct Family;
  struct Series;
  Series& add(const std::string& name, const std::string& help, std::string_view type, Labels labels);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace ringtrace::common
