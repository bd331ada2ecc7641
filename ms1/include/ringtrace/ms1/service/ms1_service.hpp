#pragma once
/// @file
/// MS1: the HTTP API, the session runner, the WebSocket link to MS2 and the database writer,
/// put together and driven by common::run_service.

#include <atomic>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "ringtrace/common/auth.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/http_listener.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/common/service_main.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/service/health_api.hpp"
#include "ringtrace/ms1/service/http_api.hpp"
#include "ringtrace/ms1/ring/ms1_metrics.hpp"
#include "ringtrace/ms1/reports/latency_line.hpp"
#include "ringtrace/ms1/reports/report_service.hpp"
#include "ringtrace/ms1/ring/session_api.hpp"
#include "ringtrace/ms1/ring/session_runner.hpp"
#include "ringtrace/ms1/reports/sessions_api.hpp"
#include "ringtrace/ms1/ring/store_api.hpp"
#include "ringtrace/ms1/ring/store_writer.hpp"
#include "ringtrace/ms1/ring/ws_client.hpp"

namespace ringtrace::ms1 {

/// The MS1 process. Everything but the database writer and the report thread runs on one
/// event-loop thread (the one that calls run()), so the session and the counters
/// need no locks.
class Ms1Service final : public common::Service {
 public:
  /// Builds every part in order, each handed what it uses; the database writer and the report
  /// thread begin connecting. Throws on bad config.
  explicit Ms1Service(common::Config config);
  ~Ms1Service() override;

  Ms1Service(const Ms1Service&) = delete;
  Ms1Service& operator=(const Ms1Service&) = delete;

  /// Binds the HTTP port (throws when it cannot), starts accepting and connecting to MS2, and
  /// prints the listening line.
  void start() override;
  /// Serves until stop() and a graceful drain: a running session ends (reason shutdown) and is
  /// recorded before the loop stops.
  void run() override;
  /// Begins that graceful shutdown on the event loop; thread-safe, idempotent, callable before run().
  void stop() override;
  /// The HTTP port it listens on (the real one when configured with port 0); 0 before start().
  [[nodiscard]] std::uint16_t port() const { return listener_ ? listener_->local_endpoint().port() : 0; }
  /// What `GET /metrics` serves; every series is registered by the time the constructor returns.
  [[nodiscard]] const common::MetricsRegistry& metrics() const { return metrics_; }

 private:
  void begin_shutdown();
  void complete_shutdown();
  /// Stops the writer's and the reports' threads, running what they have queued; idempotent.
  /// The one end of every path out: a graceful shutdown, run() returning, or destruction.
  void stop_workers();

  common::Config config_;
  common::BearerAuth auth_;          ///< security.token: checked on /store, sent to MS2
  common::MetricsRegistry metrics_;  ///< before everything that registers into it
  common::tracing::Tracer tracer_;   ///< declared early: spans below must end before it goes
  boost::asio::io_context ioc_{1};
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<ReportService> reports_;  ///< its own connection: reports never wait on the writer
  Ms1Metrics m_;
  std::shared_ptr<WsClient> ws_;  ///< the runner's link to MS2; reports to the runner once started
  LatencyLine latency_line_;       ///< the runner's finish hook
  SessionRunner runner_;
  SessionApi session_api_;
  StoreApi store_api_;
  HealthApi health_api_;
  SessionsApi sessions_api_;
  HttpApi http_api_;
  std::shared_ptr<common::HttpListener> listener_;  ///< bound by start()
  std::atomic<bool> stop_requested_{false};
};

}  // namespace ringtrace::ms1
