#include "ringtrace/ms3/forwarder.hpp"

#include <string>

#include <spdlog/spdlog.h>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms3/record_processor.hpp"
#include "ringtrace/ms3/response_classifier.hpp"

namespace ringtrace::ms3 {

namespace {

/// Longest piece of a payload or response body quoted in a log line.
constexpr std::size_t kMaxQuoteChars = 200;

/// Retry lines after the first few are logged only every this many attempts.
constexpr std::uint64_t kRetryLogEvery = 10;

std::string quote(std::string_view text) {
  std::string out(text.substr(0, kMaxQuoteChars));
  for (auto& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';  // keep one line, whatever the bytes were
  }
  if (text.size() > kMaxQuoteChars) out += "…";
  return out;
}

}  // namespace

std::string_view to_string(ForwardOutcome outcome) {
  switch (outcome) {
    case ForwardOutcome::kStored: return "stored";
    case ForwardOutcome::kRejected: return "rejected";
    case ForwardOutcome::kUndecodable: return "undecodable";
    case ForwardOutcome::kStopped: return "stopped";
    case ForwardOutcome::kDropped: return "dropped";
  }
  return "unknown";
}

Forwarder::Forwarder(const common::Config& config, Counters& counters, common::tracing::Tracer* tracer)
    : naming_(config.message.naming),
      counters_(counters),
      tracer_(tracer != nullptr && tracer->enabled() ? tracer : nullptr),
      topic_(config.kafka.topic),
      single_attempt_(config.kafka.delivery == common::Delivery::kAtMostOnce),
      poster_(common::parse_endpoint(config.ms3.store_url, "http", "ms3.store_url"),
              std::chrono::milliseconds(config.ms3.request_timeout_ms), cancel_, !single_attempt_),
      backoff_(std::chrono::milliseconds(config.ms3.retry_initial_ms),
               std::chrono::milliseconds(config.ms3.retry_max_ms)) {}

void Forwarder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
    if (!single_attempt_) cancel_.store(true);
  }
  wake_.notify_all();
}

bool Forwarder::wait(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_.load(); });
}

ForwardOutcome Forwarder::forward(std::string_view payload, std::string_view traceparent) {
  namespace tracing = common::tracing;
  auto record = process_record(payload, naming_, common::now_utc());
  tracing::Span consume;
  tracing::Span post;
  if (tracer_ != nullptr) {
    consume = tracer_->start_span("kafka consume", tracing::SpanKind::kConsumer, tracing::parse_traceparent(traceparent));
    consume.set_attribute("messaging.system", std::string("kafka"));
    consume.set_attribute("messaging.operation", std::string("process"));
    consume.set_attribute("messaging.source.name", topic_);
    consume.set_attribute("session_id", record.session_id);
    consume.set_attribute("message.id", record.id);
    if (record.outcome == RecordOutcome::kOk) {
      post = tracer_->start_span("POST /store", tracing::SpanKind::kClient, consume.context());
      post.set_attribute("http.request.method", std::string("POST"));
      post.set_attribute("url.full", poster_.url());
      post.set_attribute("session_id", record.session_id);
      post.set_attribute("message.id", record.id);
    }
  }
  if (record.outcome != RecordOutcome::kOk) {
    consume.set_status(tracing::StatusCode::kError, std::string(to_string(record.outcome)) + ": " + record.reason);
    counters_.undecodable.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("ms3: passing {} record ({} bytes): {}: {}", to_string(record.outcome), payload.size(),
                 quote(record.reason), quote(payload));
    return ForwardOutcome::kUndecodable;
  }

  for (std::uint64_t attempt = 1; single_attempt_ || !stopping_.load(); ++attempt) {
    const auto started = std::chrono::steady_clock::now();
    auto result = poster_.post(record.body, post.traceparent());  // a cancelled request comes back as an error: retry path, then stop
    if (!result.ec && counters_.post_latency != nullptr) {
      counters_.post_latency->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    const auto action = result.ec ? ResponseAction::kRetry : classify_response(result.status);
    if (post.recording()) {
      post.set_attribute("http.response.status_code", static_cast<std::int64_t>(result.status));
      post.set_attribute("http.request.resend_count", static_cast<std::int64_t>(attempt - 1));
    }
    if (action == ResponseAction::kCommit) {
      backoff_.reset();
      counters_.forwarded.fetch_add(1, std::memory_order_relaxed);
      if (attempt > 1) {
        spdlog::info("ms3: session {} message {} stored after {} attempts", record.session_id, record.id, attempt);
      }
      return ForwardOutcome::kStored;
    }
    if (action == ResponseAction::kReject) {
      backoff_.reset();
      counters_.rejected.fetch_add(1, std::memory_order_relaxed);
      post.set_status(tracing::StatusCode::kError, "MS1 answered " + std::to_string(result.status));
      spdlog::error("ms3: MS1 refused session {} message {} with {}: {}", record.session_id, record.id,
                    result.status, quote(result.body));
      return ForwardOutcome::kRejected;
    }
    if (single_attempt_) {
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      const std::string why = result.ec ? result.ec.message() : "HTTP " + std::to_string(result.status);
      post.set_status(tracing::StatusCode::kError, "dropped (at-most-once): " + why);
      spdlog::warn("ms3: dropped session {} message {} (at-most-once, no retry): {}", record.session_id, record.id, why);
      return ForwardOutcome::kDropped;
    }
    const auto delay = backoff_.next();
    counters_.retries.fetch_add(1, std::memory_order_relaxed);
    if (attempt <= 3 || attempt % kRetryLogEvery == 0) {
      const std::string why = result.ec ? result.ec.message()
                                        : "HTTP " + std::to_string(result.status) + " " + quote(result.body);
      spdlog::warn("ms3: POST of session {} message {} failed (attempt {}): {}; retrying in {} ms", record.session_id,
                   record.id, attempt, why, delay.count());
    }
    if (!wait(delay)) break;
  }
  spdlog::info("ms3: stopping with session {} message {} not stored; it stays uncommitted", record.session_id,
               record.id);
  post.set_status(tracing::StatusCode::kError, "stopped before MS1 took it");
  return ForwardOutcome::kStopped;
}

}  // namespace ringtrace::ms3
