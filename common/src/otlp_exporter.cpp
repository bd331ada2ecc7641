#include "ringtrace/common/otlp_exporter.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/http_client.hpp"

namespace ringtrace::common::tracing {

namespace {

std::string describe(const PostResult& result) {
  if (result.ec) return result.ec.message();
  return "HTTP " + std::to_string(result.status);
}

}  // namespace

Exporter::Exporter(const TracingConfig& config, std::string service)
    : service_(std::move(service)),
      url_(config.endpoint),
      protocol_(config.protocol),
      queue_max_(static_cast<std::size_t>(std::max(config.queue_max, 1))),
      batch_max_(static_cast<std::size_t>(std::max(config.batch_max, 1))),
      flush_interval_(std::max(config.flush_interval_ms, 1)),
      timeout_(std::max(config.timeout_ms, 1)),
      client_(std::make_unique<HttpClient>(parse_endpoint(config.endpoint, "http", "tracing.endpoint"),
                                           HttpClientOptions{timeout_, "ringtrace-otlp", "tracing", true}, abort_)),
      thread_([this] { run(); }) {}

Exporter::~Exporter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  abort_.store(true);
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Exporter::enqueue(std::unique_ptr<SpanData> span) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= queue_max_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;  // `span` is freed outside the lock
    }
    queue_.push_back(std::move(span));
    ++accepted_;
    wake = queue_.size() == batch_max_;  // wake once per full batch, not per span
  }
  if (wake) wake_.notify_one();
}

void Exporter::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = accepted_;
  if (handled_ >= target) return;
  flush_target_ = std::max(flush_target_, target);
  wake_.notify_one();
  // Bounded: one POST's time limit plus a little; more batches than that fit are left to the thread.
  done_.wait_for(lock, timeout_ + std::chrono::milliseconds(500), [&] { return handled_ >= target || stop_; });
}

TracerStats Exporter::stats() const {
  TracerStats stats;
  stats.exported = exported_.load(std::memory_order_relaxed);
  stats.dropped = dropped_.load(std::memory_order_relaxed);
  stats.failed = failed_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  stats.queued = accepted_ - handled_;
  return stats;
}

void Exporter::run() {
  batch_.reserve(batch_max_);
  std::unique_lock lock(mutex_);
  auto next_send = std::chrono::steady_clock::now() + flush_interval_;
  while (!stop_) {
    wake_.wait_until(lock, next_send, [&] {
      return stop_ || queue_.size() >= batch_max_ || (taken_ < flush_target_ && !queue_.empty());
    });
    if (stop_) break;
    if (queue_.empty()) {
      next_send = std::chrono::steady_clock::now() + flush_interval_;
      continue;
    }
    // A full batch, a flush, or the interval is up: take what is there, up to batch_max.
    const std::size_t n = std::min(queue_.size(), batch_max_);
    const auto end = queue_.begin() + static_cast<std::ptrdiff_t>(n);
    std::move(queue_.begin(), end, std::back_inserter(batch_));  // pointers only; spans stay put
    queue_.erase(queue_.begin(), end);
    taken_ += n;
    lock.unlock();

    send(batch_);
    batch_.clear();  // frees the spans, outside the lock

    lock.lock();
    handled_ += n;
    done_.notify_all();
    next_send = std::chrono::steady_clock::now() + flush_interval_;
  }
  // Stopping: what is left was not flushed in time; it is abandoned (best-effort tracing).
  if (!queue_.empty()) spdlog::debug("tracing: {} spans abandoned at shutdown", queue_.size());
  queue_.clear();
  done_.notify_all();
}

void Exporter::send(const std::vector<std::unique_ptr<SpanData>>& batch) {
  body_.clear();
  std::string_view content_type;
  if (protocol_ == TracingProtocol::kHttpJson) {
    append_otlp_json(body_, service_, batch);
    content_type = "application/json";
  } else {
    append_otlp_protobuf(body_, service_, batch);
    content_type = "application/x-protobuf";
  }
  const PostResult result = client_->post(PostRequest{body_, content_type, {}});
  const bool ok = !result.ec && result.status >= 200 && result.status < 300;
  if (ok) {
    exported_.fetch_add(batch.size(), std::memory_order_relaxed);
  } else {
    failed_.fetch_add(batch.size(), std::memory_order_relaxed);
  }
  if (abort_.load()) return;  // shutting down: not a collector problem

  // One line per change of health, never one per batch.
  const Health now = ok ? Health::kUp : result.ec ? Health::kUnreachable : Health::kRejecting;
  if (now == health_) return;
  if (now == Health::kUnreachable) {
    spdlog::warn("tracing: cannot reach {}: {}; spans are dropped until it answers", url_, describe(result));
  } else if (now == Health::kRejecting) {
    spdlog::warn("tracing: {} rejects spans: {}; spans are dropped until it accepts them", url_, describe(result));
  } else if (health_ != Health::kUnknown) {
    spdlog::info("tracing: {} answers again; exporting spans", url_);
  }
  health_ = now;
}

}  // namespace ringtrace::common::tracing
