#include "ringtrace/ms2/kafka_producer.hpp"

#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "ringtrace/ms2/producer_properties.hpp"

namespace ringtrace::ms2 {

namespace {

/// Poll period of the delivery-report thread; also bounds how long a paused session waits for news
/// and how long shutdown waits for the thread.
constexpr int kPollMs = 50;
/// After the flush, purged records report within this long.
constexpr int kPurgeReportMs = 1000;

bool is_purge(RdKafka::ErrorCode err) {
  return err == RdKafka::ERR__PURGE_QUEUE || err == RdKafka::ERR__PURGE_INFLIGHT;
}

}  // namespace

void KafkaProducer::DeliveryReporter::dr_cb(RdKafka::Message& message) {
  const std::unique_ptr<DeliveryCallback> callback(static_cast<DeliveryCallback*>(message.msg_opaque()));
  DeliveryReport report;
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    counters_.produced.fetch_add(1, std::memory_order_relaxed);
    // latency() is librdkafka's own measure from produce() to this report, in microseconds.
    if (counters_.delivery_latency != nullptr) counters_.delivery_latency->observe(static_cast<double>(message.latency()) / 1e6);
    report.ok = true;
  } else {
    report.error = message.errstr();
    // Records purged at shutdown are reported by close()'s summary line, not one by one.
    if (!is_purge(message.err())) {
      counters_.delivery_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("ms2: delivery failed to {} [{}]: {} (key={})", message.topic_name(), message.partition(),
                    message.errstr(), message.key() ? *message.key() : std::string("-"));
    }
  }
  if (callback && *callback) (*callback)(report);
}

KafkaProducer::KafkaProducer(const common::KafkaConfig& config, Counters& counters)
    : config_(config), counters_(counters), reporter_(counters) {
  producer_ = create();
  poller_ = std::thread([this] { poll_loop(); });
}

std::unique_ptr<RdKafka::Producer> KafkaProducer::create() {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [name, value] : producer_properties(config_)) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) {
      throw std::runtime_error("kafka producer property " + name + "=" + value + ": " + error);
    }
  }
  if (conf->set("dr_cb", &reporter_, error) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", &events_, error) != RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("kafka producer callbacks: " + error);
  }
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) {
    throw std::runtime_error("kafka producer: " + error);
  }
  return producer;
}

void KafkaProducer::replace_failed() {
  std::string reason;
  const auto cause = producer_->fatal_error(reason);
  spdlog::error("ms2: the producer hit a fatal error ({}: {}); replacing it, and failing the {} record(s) it held",
                RdKafka::err2str(cause), reason, producer_->outq_len());
  std::unique_ptr<RdKafka::Producer> broken;
  try {
    auto fresh = create();
    const std::unique_lock lock(producer_mutex_);
    broken = std::exchange(producer_, std::move(fresh));
  } catch (const std::exception& e) {
    spdlog::error("ms2: no new producer: {}", e.what());  // the same settings worked at startup
    return;
  }
  restarts_.fetch_add(1, std::memory_order_relaxed);
  // Their delivery reports (failures) run here, on the poll thread, as they always do.
  broken->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  broken->flush(kPurgeReportMs);
}

KafkaProducer::~KafkaProducer() { close(); }

void KafkaProducer::close() {
  if (closed_) return;
  closed_ = true;
  stopping_.store(true);
  if (poller_.joinable()) poller_.join();
  if (int left = flush(kFlushTimeout); left > 0) {
    spdlog::error("ms2: {} record(s) still undelivered after {} ms flush; they are lost", left, kFlushTimeout.count());
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->flush(kPurgeReportMs);
  }
  const std::lock_guard lock(writers_mutex_);
  writers_.clear();
}

void KafkaProducer::poll_loop() {
  std::string reason;
  while (!stopping_.load(std::memory_order_relaxed)) {
    producer_->poll(kPollMs);  // only this thread replaces producer_, so no lock to read it here
    if (producer_->fatal_error(reason) != RdKafka::ERR_NO_ERROR) replace_failed();
    wake_writers();
  }
}

void KafkaProducer::wake_writers() {
  std::vector<std::function<void()>> ready;
  {
    const std::lock_guard lock(writers_mutex_);
    ready.swap(writers_);
  }
  for (auto& writer : ready) writer();
}

void KafkaProducer::when_writable(std::function<void()> ready) {
  const std::lock_guard lock(writers_mutex_);
  writers_.push_back(std::move(ready));
}

bool KafkaProducer::warm_up(std::chrono::milliseconds timeout) {
  std::string error;
  const std::shared_lock lock(producer_mutex_);
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(producer_.get(), config_.topic, nullptr, error));
  if (!topic) {
    spdlog::warn("ms2: topic handle for {}: {}", config_.topic, error);
    return false;
  }
  RdKafka::Metadata* raw = nullptr;
  const auto err = producer_->metadata(false, topic.get(), &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("ms2: metadata for {}: {}", config_.topic, RdKafka::err2str(err));
    return false;
  }
  return true;
}

int KafkaProducer::queued() const {
  const std::shared_lock lock(producer_mutex_);
  return producer_->outq_len();
}

int KafkaProducer::flush(std::chrono::milliseconds timeout) {
  const std::shared_lock lock(producer_mutex_);
  producer_->flush(static_cast<int>(timeout.count()));
  return producer_->outq_len();
}

ProduceOutcome KafkaProducer::produce(const Record& record, DeliveryCallback on_delivery) {
  // The trace context rides in a record header, as the W3C/OpenTelemetry Kafka convention has it.
  RdKafka::Headers* headers = nullptr;
  if (!record.traceparent.empty()) {
    headers = RdKafka::Headers::create();
    headers->add("traceparent", record.traceparent.data(), record.traceparent.size());
  }
  // Handed to librdkafka as the message's opaque; dr_cb takes it back, exactly once.
  auto callback = on_delivery ? std::make_unique<DeliveryCallback>(std::move(on_delivery)) : nullptr;
  // RK_MSG_COPY: librdkafka keeps its own copy, so the record may go at once.
  const std::shared_lock lock(producer_mutex_);
  auto err = producer_->produce(config_.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                const_cast<char*>(record.payload.data()), record.payload.size(), record.key.data(),
                                record.key.size(), 0,
                                headers, callback.get());
  if (err == RdKafka::ERR_NO_ERROR) {
    (void)callback.release();  // librdkafka owns the headers and the callback now
    return ProduceOutcome::kQueued;
  }
  delete headers;  // on failure they stay ours
  if (err == RdKafka::ERR__QUEUE_FULL) return ProduceOutcome::kQueueFull;
  counters_.delivery_failures.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("ms2: produce to {} failed: {} (key={})", config_.topic, RdKafka::err2str(err), record.key);
  return ProduceOutcome::kFailed;
}

}  // namespace ringtrace::ms2
