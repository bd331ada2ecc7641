#pragma once
/// @file
/// MS2 as one object: WebSocket server in front of the Kafka producer.

#include <atomic>
#include <cstdint>
#include <memory>
#include <stop_token>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ringtrace/common/admin_server.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/common/service_main.hpp"
#include "ringtrace/ms2/counters.hpp"
#include "ringtrace/ms2/kafka_producer.hpp"
#include "ringtrace/ms2/log_throttle.hpp"
#include "ringtrace/ms2/session_context.hpp"
#include "ringtrace/ms2/session_registry.hpp"
#include "ringtrace/ms2/ws_port.hpp"

namespace ringtrace::ms2 {

/// Owns the producer and the io_context. Threads: the caller of run() does all socket work;
/// the producer has its own delivery-report thread. Signals are common::run_service's.
class Ms2Service final : public common::Service {
 public:
  /// Time sessions get to answer the close frame at shutdown before the loop is stopped anyway.
  static constexpr std::chrono::seconds kCloseGrace{2};

  /// Builds the producer (no network yet).
  explicit Ms2Service(const common::Config& config);
  /// Closes the producer (bounded flush) and logs the counters.
  ~Ms2Service() override;

  Ms2Service(const Ms2Service&) = delete;
  Ms2Service& operator=(const Ms2Service&) = delete;

  /// Creates the topic (waiting for the broker) and binds the ports; throws KafkaStartupError,
  /// ConfigError or common::BindError. Returns early, binding nothing, once stop() was called.
  void start() override;
  /// Serves until stop(), then flushes the producer; returns at once if stop() came first.
  void run() override;
  /// Stops accepting, closes WebSockets with a close frame, then ends run(); thread-safe.
  void stop() override;

  /// The port actually bound (useful with ms2.port 0).
  [[nodiscard]] std::uint16_t port() const;
  /// The admin port actually bound; 0 when ms2.admin_port is 0 (off) or before start().
  [[nodiscard]] std::uint16_t admin_port() const;
  /// Totals so far.
  [[nodiscard]] const Counters& counters() const { return counters_; }
  /// What the admin port's `GET /metrics` serves; every series is registered by the constructor.
  [[nodiscard]] const common::MetricsRegistry& metrics() const { return metrics_; }
  /// Topic creation requests start() has sent so far: above 0 once it waits for the broker's answer.
  [[nodiscard]] std::uint64_t topic_attempts() const { return topic_attempts_.load(); }

 private:
  void begin_shutdown();
  void register_metrics();
  void close_producer();

  // Order matters: handlers still queued in ioc_ hold sessions whose destructors use the registry,
  // so ioc_ is declared (and destroyed) after everything sessions reference; the producer is closed
  // explicitly before ioc_ goes, because its delivery reports post into ioc_.
  common::Config config_;
  common::MetricsRegistry metrics_;  ///< first: outlives everything its gauges read
  Counters counters_;
  common::tracing::Tracer tracer_;
  LogThrottle reject_log_;
  SessionRegistry registry_;
  KafkaProducer producer_;
  SessionContext context_;
  boost::asio::io_context ioc_{1};
  std::unique_ptr<WsPort> ws_port_;
  std::unique_ptr<common::AdminServer> admin_;
  boost::asio::steady_timer close_timer_;
  std::stop_source stop_requested_;  ///< set by stop() from any thread; read by start()'s broker wait
  std::atomic<std::uint64_t> topic_attempts_{0};  ///< written by start(), read from any thread
  bool stopping_ = false;            ///< on the io thread: shutdown has begun
};

}  // namespace ringtrace::ms2
