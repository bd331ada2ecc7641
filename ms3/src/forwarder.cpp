#include "ringtrace/ms3/forwarder.hpp"

#include <algorithm>
#include <string>

#include <spdlog/spdlog.h>

#include "ringtrace/common/hop_step.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/common/trace_names.hpp"
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

std::size_t committable(const std::vector<ForwardOutcome>& outcomes) {
  const auto stopped = std::find(outcomes.begin(), outcomes.end(), ForwardOutcome::kStopped);
  return static_cast<std::size_t>(stopped - outcomes.begin());
}

ForwarderSettings ForwarderSettings::from(const common::Config& config) {
  return {config.ms3, config.message.naming, config.kafka.topic, common::DeliveryPolicy::of(config.kafka.delivery)};
}

Forwarder::Forwarder(const ForwarderSettings& settings, Counters& counters, StoreClient& store,
                     common::tracing::Tracer* tracer)
    : naming_(settings.naming),
      counters_(counters),
      tracer_(tracer != nullptr && tracer->enabled() ? tracer : nullptr),
      topic_(settings.topic),
      single_attempt_(settings.delivery.stores_once()),
      url_(settings.ms3.store_url),
      store_(store),
      backoff_(std::chrono::milliseconds(settings.ms3.retry_initial_ms),
               std::chrono::milliseconds(settings.ms3.retry_max_ms)) {}

void Forwarder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
    if (!single_attempt_) store_.cancel();
  }
  wake_.notify_all();
}

bool Forwarder::wait(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_.load(); });
}

/// A record on its way to MS1, with the spans of its hop.
struct Forwarder::Pending {
  std::size_t index = 0;    ///< position in the batch
  common::HopResult record;  ///< the stamped message to POST (kOk) or why not
  common::tracing::Span consume;
  common::tracing::Span post;
  std::string traceparent;  ///< the POST span's context, sent as the request header
  std::uint64_t attempts = 0;
};

std::optional<ForwardOutcome> Forwarder::settle(Pending& item, const StoreResult& result) {
  namespace tracing = common::tracing;
  if (!result.ec && counters_.post_latency != nullptr) {
    counters_.post_latency->observe(std::chrono::duration<double>(result.elapsed).count());
  }
  const auto action = result.ec ? ResponseAction::kRetry : classify_response(result.status);
  if (item.post.recording()) {
    item.post.set_attribute(tracing::attr::kHttpStatus, static_cast<std::int64_t>(result.status));
    item.post.set_attribute(tracing::attr::kHttpResendCount, static_cast<std::int64_t>(item.attempts - 1));
  }
  const auto& record = item.record;
  if (action == ResponseAction::kCommit) {
    counters_.forwarded.fetch_add(1, std::memory_order_relaxed);
    if (item.attempts > 1) {
      spdlog::info("ms3: session {} message {} stored after {} attempts", record.message.session_id, record.message.id, item.attempts);
    }
    return ForwardOutcome::kStored;
  }
  if (action == ResponseAction::kReject) {
    counters_.rejected.fetch_add(1, std::memory_order_relaxed);
    item.post.set_status(tracing::StatusCode::kError, "MS1 answered " + std::to_string(result.status));
    spdlog::error("ms3: MS1 refused session {} message {} with {}: {}", record.message.session_id, record.message.id, result.status,
                  quote(result.body));
    return ForwardOutcome::kRejected;
  }
  if (single_attempt_) {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    const std::string why = result.ec ? result.ec.message() : "HTTP " + std::to_string(result.status);
    item.post.set_status(tracing::StatusCode::kError, "dropped (at-most-once): " + why);
    spdlog::warn("ms3: dropped session {} message {} (at-most-once, no retry): {}", record.message.session_id, record.message.id, why);
    return ForwardOutcome::kDropped;
  }
  return std::nullopt;
}

std::vector<ForwardOutcome> Forwarder::forward(const std::vector<RecordView>& records) {
  std::vector<ForwardOutcome> outcomes(records.size(), ForwardOutcome::kStopped);
  auto pending = decode(records, outcomes);
  deliver(pending, outcomes);
  if (!pending.empty()) leave_unsent(pending);
  return outcomes;
}

std::vector<Forwarder::Pending> Forwarder::decode(const std::vector<RecordView>& records,
                                                  std::vector<ForwardOutcome>& outcomes) {
  std::vector<Pending> pending;
  pending.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& view = records[i];
    Pending item;
    item.index = i;
    item.record = common::run_hop(common::Hop::kMs3, view.payload, naming_, common::now_utc());
    if (tracer_ != nullptr) start_spans(item, view);
    if (!item.record.ok()) {
      outcomes[i] = pass_undecodable(item, view);
      continue;
    }
    pending.push_back(std::move(item));
  }
  return pending;
}

void Forwarder::start_spans(Pending& item, const RecordView& view) {
  namespace tracing = common::tracing;
  const auto& record = item.record;
  item.consume = tracer_->start_span(tracing::span::kKafkaConsume, tracing::SpanKind::kConsumer,
                                     tracing::parse_traceparent(view.traceparent));
  item.consume.set_attribute(tracing::attr::kMessagingSystem, std::string(tracing::system_name::kKafka));
  item.consume.set_attribute(tracing::attr::kMessagingOperation, std::string("process"));
  item.consume.set_attribute(tracing::attr::kMessagingSource, topic_);
  item.consume.set_attribute(tracing::attr::kSessionId, record.message.session_id);
  item.consume.set_attribute(tracing::attr::kMessageId, record.message.id);
  if (!record.ok()) return;
  item.post = tracer_->start_span(tracing::span::kPostStore, tracing::SpanKind::kClient, item.consume.context());
  item.post.set_attribute(tracing::attr::kHttpMethod, std::string("POST"));
  item.post.set_attribute(tracing::attr::kUrlFull, url_);
  item.post.set_attribute(tracing::attr::kSessionId, record.message.session_id);
  item.post.set_attribute(tracing::attr::kMessageId, record.message.id);
  item.traceparent = item.post.traceparent();
}

ForwardOutcome Forwarder::pass_undecodable(Pending& item, const RecordView& view) {
  const auto& record = item.record;
  // Counted undecodable whatever the hop refused it for; the span and the log say which.
  item.consume.set_status(common::tracing::StatusCode::kError, std::string(to_string(ForwardOutcome::kUndecodable)) +
                                                                   " (" + std::string(to_string(record.outcome)) +
                                                                   "): " + record.reason);
  counters_.undecodable.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("ms3: passing undecodable record ({}, {} bytes): {}: {}", to_string(record.outcome), view.payload.size(),
               quote(record.reason), quote(view.payload));
  return ForwardOutcome::kUndecodable;
}

void Forwarder::deliver(std::vector<Pending>& pending, std::vector<ForwardOutcome>& outcomes) {
  while (!pending.empty() && (single_attempt_ || !stopping_.load())) {
    const auto failed = post_once(pending, outcomes);
    if (pending.empty()) {
      backoff_.reset();
      break;
    }
    const auto delay = backoff_.next();
    counters_.retries.fetch_add(pending.size(), std::memory_order_relaxed);
    log_retry(pending, *failed, delay);
    if (!wait(delay)) break;
  }
}

std::optional<StoreResult> Forwarder::post_once(std::vector<Pending>& pending, std::vector<ForwardOutcome>& outcomes) {
  std::vector<StoreRequest> requests;
  requests.reserve(pending.size());
  for (auto& item : pending) {
    ++item.attempts;
    requests.push_back(StoreRequest{item.record.payload, item.traceparent});
  }
  // A cancelled request comes back as an error: retry path, then stop.
  const auto results = store_.store(requests);
  std::vector<Pending> again;
  std::optional<StoreResult> failed;  // the first failure, for the log
  for (std::size_t k = 0; k < pending.size(); ++k) {
    if (const auto outcome = settle(pending[k], results[k])) {
      outcomes[pending[k].index] = *outcome;  // its spans end below, with this round
    } else {
      if (!failed) failed = results[k];
      again.push_back(std::move(pending[k]));
    }
  }
  pending.swap(again);
  return failed;
}

void Forwarder::log_retry(const std::vector<Pending>& pending, const StoreResult& failed,
                          std::chrono::milliseconds delay) {
  const auto& first = pending.front();
  if (first.attempts > 3 && first.attempts % kRetryLogEvery != 0) return;
  const std::string why = failed.ec ? failed.ec.message()
                                    : "HTTP " + std::to_string(failed.status) + " " + quote(failed.body);
  spdlog::warn("ms3: POST of {} message(s) failed, first session {} message {} (attempt {}): {}; retrying in {} ms",
               pending.size(), first.record.message.session_id, first.record.message.id, first.attempts, why, delay.count());
}

void Forwarder::leave_unsent(std::vector<Pending>& pending) {
  spdlog::info("ms3: stopping with {} message(s) not stored, first session {} message {}; they stay uncommitted",
               pending.size(), pending.front().record.message.session_id, pending.front().record.message.id);
  for (auto& item : pending) item.post.set_status(common::tracing::StatusCode::kError, "stopped before MS1 took it");
}

}  // namespace ringtrace::ms3
