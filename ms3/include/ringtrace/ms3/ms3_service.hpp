#pragma once
/// @file
/// MS3 as one object: Kafka consumer → Forwarder → commit.

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "ringtrace/common/admin_server.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/common/service_main.hpp"
#include "ringtrace/ms3/counters.hpp"
#include "ringtrace/ms3/forwarder.hpp"
#include "ringtrace/ms3/http_store_client.hpp"
#include "ringtrace/ms3/kafka_consumer.hpp"

namespace ringtrace::ms3 {

/// Consumes on the thread that calls run(), a batch at a time: whatever librdkafka has fetched,
/// up to ms3.max_in_flight records, POSTed to MS1 as one pipeline and committed together. When a
/// batch is committed is the delivery policy's (common::DeliveryPolicy::commit): after the
/// Forwarder is done with every record, so a crash or stop replays rather than loses, or before
/// the POSTs, so a crash loses rather than replays. The admin port is served on a thread of its
/// own, so a POST being retried never delays /healthz or a stop.
class Ms3Service final : public common::Service {
 public:
  /// How long one consume() call blocks; bounds how fast run() notices stop().
  static constexpr std::chrono::milliseconds kConsumeTimeout{100};

  /// Validates ms3.store_url (ConfigError); nothing connects before start().
  explicit Ms3Service(const common::Config& config);
  /// Stops the admin thread, then logs the counters.
  ~Ms3Service() override;

  Ms3Service(const Ms3Service&) = delete;
  Ms3Service& operator=(const Ms3Service&) = delete;

  /// Subscribes to the topic (std::runtime_error if librdkafka refuses), then opens the admin
  /// port (`/metrics`, `/healthz`) on its own thread unless ms3.admin_port is 0; throws
  /// boost::system::system_error if it cannot bind.
  void start() override;
  /// Consumes and forwards until stop(); then commits synchronously and leaves the group.
  /// Returns at once when start() has not subscribed (a stop came first).
  void run() override;
  /// Ends run() soon, also in the middle of a retry; thread-safe, idempotent.
  void stop() override;

  /// Totals so far.
  const Counters& counters() const { return counters_; }
  /// What the admin port's `GET /metrics` serves; every series is registered by the constructor.
  [[nodiscard]] const common::MetricsRegistry& metrics() const { return metrics_; }

  /// The admin port actually bound; 0 when off or before start().
  std::uint16_t admin_port() const;

 private:
  void register_metrics();
  /// Stops and joins the admin thread; idempotent.
  void stop_admin();

  common::Config config_;
  common::MetricsRegistry metrics_;  ///< first: outlives everything its gauges read
  Counters counters_;
  common::tracing::Tracer tracer_;
  HttpStoreClient store_;
  Forwarder forwarder_;
  std::unique_ptr<KafkaConsumer> consumer_;  ///< made by start(); the admin port and metrics read it after
  std::atomic<bool> stopping_{false};         ///< stop() was called: run() ends its loop
  boost::asio::io_context admin_ioc_{1};  ///< the admin port's loop, run by admin_thread_
  std::unique_ptr<common::AdminServer> admin_;
  std::thread admin_thread_;
};

}  // namespace ringtrace::ms3
