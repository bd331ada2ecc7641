#include "ringtrace/ms2/kafka_producer.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "ringtrace/ms2/producer_properties.hpp"

namespace ringtrace::ms2 {

namespace {

/// Poll period of the delivery-report thread; also bounds how long shutdown waits for it.
constexpr int kPollMs = 50;

}  // namespace

std::string_view to_string(ProduceOutcome outcome) {
  switch (outcome) {
    case ProduceOutcome::kQueued: return "queued";
    case ProduceOutcome::kQueueFull: return "queue_full";
    case ProduceOutcome::kFailed: return "failed";
  }
  return "unknown";
}

void KafkaProducer::DeliveryReporter::dr_cb(RdKafka::Message& message) {
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    counters_.produced.fetch_add(1, std::memory_order_relaxed);
    // latency() is librdkafka's own measure from produce() to this report, in microseconds.
    if (counters_.delivery_latency != nullptr) counters_.delivery_latency->observe(static_cast<double>(message.latency()) / 1e6);
    return;
  }
  counters_.delivery_failures.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("ms2: delivery failed to {} [{}]: {} (key={})", message.topic_name(), message.partition(),
                message.errstr(), message.key() ? *message.key() : std::string("-"));
}

KafkaProducer::KafkaProducer(const common::KafkaConfig& config, Counters& counters)
    : topic_(config.topic), counters_(counters), reporter_(counters) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [name, value] : producer_properties(config)) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) {
      throw std::runtime_error("kafka producer property " + name + "=" + value + ": " + error);
    }
  }
  if (conf->set("dr_cb", &reporter_, error) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", &events_, error) != RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("kafka producer callbacks: " + error);
  }
  producer_.reset(RdKafka::Producer::create(conf.get(), error));
  if (!producer_) {
    throw std::runtime_error("kafka producer: " + error);
  }
  poller_ = std::thread([this] { poll_loop(); });
}

KafkaProducer::~KafkaProducer() {
  stopping_.store(true);
  if (poller_.joinable()) {
    poller_.join();
  }
  if (int left = flush(kFlushTimeout); left > 0) {
    spdlog::error("ms2: {} record(s) still undelivered after {} ms flush; they are lost", left, kFlushTimeout.count());
  }
}

void KafkaProducer::poll_loop() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    producer_->poll(kPollMs);
  }
}

bool KafkaProducer::warm_up(std::chrono::milliseconds timeout) {
  std::string error;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(producer_.get(), topic_, nullptr, error));
  if (!topic) {
    spdlog::warn("ms2: topic handle for {}: {}", topic_, error);
    return false;
  }
  RdKafka::Metadata* raw = nullptr;
  const auto err = producer_->metadata(false, topic.get(), &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("ms2: metadata for {}: {}", topic_, RdKafka::err2str(err));
    return false;
  }
  return true;
}

int KafkaProducer::queued() const { return producer_->outq_len(); }

int KafkaProducer::flush(std::chrono::milliseconds timeout) {
  producer_->flush(static_cast<int>(timeout.count()));
  return producer_->outq_len();
}

ProduceOutcome KafkaProducer::produce(std::string_view key, std::string_view payload, std::string_view traceparent) {
  for (int attempt = 0;; ++attempt) {
    // The trace context rides in a record header, as the W3C/OpenTelemetry Kafka convention has it.
    RdKafka::Headers* headers = nullptr;
    if (!traceparent.empty()) {
      headers = RdKafka::Headers::create();
      headers->add("traceparent", traceparent.data(), traceparent.size());
    }
    // RK_MSG_COPY: librdkafka keeps its own copy, so the caller's buffer may go at once.
    auto err = producer_->produce(topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                  const_cast<char*>(payload.data()), payload.size(), key.data(), key.size(), 0,
                                  headers, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) {
      return ProduceOutcome::kQueued;  // librdkafka owns the headers now
    }
    delete headers;  // on failure they stay ours
    if (err == RdKafka::ERR__QUEUE_FULL && attempt < kQueueFullRetries) {
      producer_->poll(static_cast<int>(kQueueFullWait.count()));
      continue;
    }
    counters_.delivery_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("ms2: produce to {} failed: {} (key={})", topic_, RdKafka::err2str(err), key);
    return err == RdKafka::ERR__QUEUE_FULL ? ProduceOutcome::kQueueFull : ProduceOutcome::kFailed;
  }
}

}  // namespace ringtrace::ms2
