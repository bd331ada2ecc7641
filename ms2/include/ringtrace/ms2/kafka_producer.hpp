#pragma once
/// @file
/// RAII wrapper over the librdkafka C++ producer: a poll thread for delivery reports, a bounded flush on close.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/kafka_events.hpp"
#include "ringtrace/ms2/counters.hpp"
#include "ringtrace/ms2/record_sink.hpp"

namespace ringtrace::ms2 {

/// One producer for the whole service; `produce` is thread-safe and never blocks; delivery reports and
/// `when_writable` wake-ups run on a private poll thread.
class KafkaProducer final : public RecordSink {
 public:
  /// Upper bound on the flush in close(), so shutdown never hangs on a dead broker.
  static constexpr std::chrono::milliseconds kFlushTimeout{5000};

  /// Configures from `config` (throws std::runtime_error naming the property librdkafka refused) and starts polling.
  KafkaProducer(const common::KafkaConfig& config, Counters& counters);
  /// close().
  ~KafkaProducer() override;

  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  /// Queues `record` to the configured topic; a full local queue answers kQueueFull at once.
  ProduceOutcome produce(const Record& record, DeliveryCallback on_delivery) override;
  /// `ready` runs on the poll thread after the next poll that served deliveries (or within one poll period).
  void when_writable(std::function<void()> ready) override;

  /// Stops polling, flushes for at most kFlushTimeout (what is left is logged as lost), then runs every
  /// remaining delivery callback with an error, so none outlives the producer. Idempotent; not concurrent with produce.
  void close();

  /// Records queued or in flight to the broker (librdkafka's out queue); thread-safe.
  [[nodiscard]] int queued() const;

  /// Waits up to `timeout` for queued records; returns how many are still undelivered.
  int flush(std::chrono::milliseconds timeout);

  /// Fetches the topic's partition leaders now, so the first message does not wait for them.
  /// Returns false (after logging) if the broker did not answer within `timeout`.
  bool warm_up(std::chrono::milliseconds timeout);

  /// The underlying C handle, for the Admin API (topic creation) on the same connections; only
  /// valid until the producer is replaced (see restarts()), so use it at startup.
  rd_kafka_t* c_handle() { return producer_->c_ptr(); }

  /// How many times a producer that hit a fatal error was replaced by a fresh one. An idempotent
  /// producer turns fatal when a leader change rewinds its sequence numbers (seen when the
  /// controller of a cluster is killed): it then fails every record until it is replaced.
  [[nodiscard]] std::uint64_t restarts() const { return restarts_.load(std::memory_order_relaxed); }

  /// Broker connections lost or gone silent so far (common::KafkaEventLogger), so a harness sees
  /// a partition detected; any thread.
  [[nodiscard]] std::uint64_t transport_errors() const { return events_.transport_errors(); }

 private:
  /// Counts delivery reports and runs the record's callback; runs on the poll thread (or whoever flushes).
  class DeliveryReporter : public RdKafka::DeliveryReportCb {
   public:
    explicit DeliveryReporter(Counters& counters) : counters_(counters) {}
    void dr_cb(RdKafka::Message& message) override;

   private:
    Counters& counters_;
  };

  /// A librdkafka producer built from config_; throws std::runtime_error on refusal.
  std::unique_ptr<RdKafka::Producer> create();
  /// Swaps in a fresh producer and fails what the broken one still held (MS1 resends it).
  void replace_failed();
  void poll_loop();
  void wake_writers();

  common::KafkaConfig config_;  ///< the settings every producer is built from, the topic among them
  Counters& counters_;
  DeliveryReporter reporter_;
  common::KafkaEventLogger events_{"ms2"};
  /// Shared by produce() and the other users, unique while replace_failed() swaps the producer.
  mutable std::shared_mutex producer_mutex_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<std::uint64_t> restarts_{0};
  std::mutex writers_mutex_;
  std::vector<std::function<void()>> writers_;  ///< waiting for room after kQueueFull
  std::atomic<bool> stopping_{false};
  bool closed_ = false;
  std::thread poller_;
};

}  // namespace ringtrace::ms2
