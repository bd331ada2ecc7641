#pragma once
/// @file
/// MS2 as one object: WebSocket server in front of the Kafka producer.

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ringtrace/common/admin_server.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/ms2/counters.hpp"
#include "ringtrace/ms2/kafka_producer.hpp"
#include "ringtrace/ms2/listener.hpp"
#include "ringtrace/ms2/log_throttle.hpp"
#include "ringtrace/ms2/session_context.hpp"
#include "ringtrace/ms2/session_registry.hpp"

namespace ringtrace::ms2 {

/// Owns the producer and the io_context. Threads: the caller of run() does all socket work;
/// the producer has its own delivery-report thread. Destruction flushes the producer.
class Ms2Service {
 public:
  /// Time sessions get to answer the close frame at shutdown before the loop is stopped anyway.
  static constexpr std::chrono::seconds kCloseGrace{2};

  /// Builds the producer (no network yet).
  explicit Ms2Service(const common::Config& config);
  /// Logs the counters; the producer's destructor then flushes.
  ~Ms2Service();

  Ms2Service(const Ms2Service&) = delete;
  Ms2Service& operator=(const Ms2Service&) = delete;

  /// Creates the topic (waiting for the broker) and binds the port; throws KafkaStartupError or ConfigError.
  void start();
  /// Makes SIGINT and SIGTERM call stop(), for the executable.
  void stop_on_signals();
  /// Serves until stop(); call after start().
  void run();
  /// Stops accepting, closes WebSockets with a close frame, then ends run(); thread-safe.
  void stop();

  /// The port actually bound (useful with ms2.port 0).
  std::uint16_t port() const;
  /// The admin port actually bound; 0 when ms2.admin_port is 0 (off) or before start().
  std::uint16_t admin_port() const;
  /// Totals so far.
  const Counters& counters() const { return counters_; }

 private:
  void begin_shutdown();
  void register_metrics();

  // Order matters: handlers still queued in ioc_ hold sessions whose destructors use the registry,
  // so ioc_ is declared (and destroyed) after everything sessions reference.
  common::Config config_;
  common::MetricsRegistry metrics_;  ///< first: outlives everything its gauges read
  Counters counters_;
  common::tracing::Tracer tracer_;
  LogThrottle reject_log_;
  SessionRegistry registry_;
  KafkaProducer producer_;
  SessionContext context_;
  boost::asio::io_context ioc_{1};
  std::shared_ptr<Listener> listener_;
  std::unique_ptr<common::AdminServer> admin_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer close_timer_;
  bool stopping_ = false;
};

}  // namespace ringtrace::ms2
