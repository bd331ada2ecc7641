#pragma once
/// @file
/// RAII wrapper over the librdkafka C++ producer: a poll thread for delivery reports, a bounded flush on destruction.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "ringtrace/common/kafka_events.hpp"

#include "ringtrace/common/config.hpp"
#include "ringtrace/ms2/counters.hpp"

namespace ringtrace::ms2 {

/// What `produce` managed; anything but kQueued has already been logged and counted.
enum class ProduceOutcome {
  kQueued,     ///< handed to librdkafka; the delivery report tells the rest
  kQueueFull,  ///< the local queue stayed full through every retry
  kFailed,     ///< librdkafka refused the record outright
};

/// Short name of an outcome, for logs.
std::string_view to_string(ProduceOutcome outcome);

/// One producer for the whole service; `produce` is thread-safe, delivery reports arrive on a private thread.
class KafkaProducer {
 public:
  /// Attempts at queueing a record while librdkafka's local queue is full.
  static constexpr int kQueueFullRetries = 50;
  /// How long each attempt waits for the queue to drain.
  static constexpr std::chrono::milliseconds kQueueFullWait{10};
  /// Upper bound on the flush in the destructor, so shutdown never hangs on a dead broker.
  static constexpr std::chrono::milliseconds kFlushTimeout{5000};

  /// Configures from `config` (throws std::runtime_error naming the property librdkafka refused) and starts polling.
  KafkaProducer(const common::KafkaConfig& config, Counters& counters);
  /// Stops polling and flushes for at most kFlushTimeout; what is left is logged as lost.
  ~KafkaProducer();

  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  /// Queues `payload` to the configured topic with `key`, retrying briefly while the local queue is full.
  ProduceOutcome produce(std::string_view key, std::string_view payload, std::string_view traceparent = {});

  /// Records queued or in flight to the broker (librdkafka's out queue); thread-safe.
  [[nodiscard]] int queued() const;

  /// Waits up to `timeout` for queued records; returns how many are still undelivered.
  int flush(std::chrono::milliseconds timeout);

  /// Fetches the topic's partition leaders now, so the first message does not wait for them.
  /// Returns false (after logging) if the broker did not answer within `timeout`.
  bool warm_up(std::chrono::milliseconds timeout);

  /// The underlying C handle, for the Admin API (topic creation) on the same connections.
  rd_kafka_t* c_handle() { return producer_->c_ptr(); }

 private:
  /// Counts delivery reports; runs on the poll thread (or whoever calls poll/flush).
  class DeliveryReporter : public RdKafka::DeliveryReportCb {
   public:
    explicit DeliveryReporter(Counters& counters) : counters_(counters) {}
    void dr_cb(RdKafka::Message& message) override;

   private:
    Counters& counters_;
  };

  void poll_loop();

  std::string topic_;
  Counters& counters_;
  DeliveryReporter reporter_;
  common::KafkaEventLogger events_{"ms2"};
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
};

}  // namespace ringtrace::ms2
