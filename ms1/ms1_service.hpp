#pragma once
/// @file
/// MS1: the HTTP API, the session controller, the WebSocket link to MS2 and the database writer.

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ringtrace/common/http_listener.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"
#include "session_controller.hpp"
#include "store_writer.hpp"
#include "ws_client.hpp"

namespace ringtrace::ms1 {

using common::HttpLimits;
using common::HttpListener;
using common::HttpRequest;
using common::HttpResponse;
using common::json_response;
using common::RequestHandler;
using common::Responder;

/// The MS1 process. Everything but the database writer runs on one event-loop thread, so the
/// controller and the counters need no locks.
class Ms1Service final : public RequestHandler, public SessionPort, public WsLinkListener {
 public:
  /// Binds the HTTP port and starts connecting to MS2 and the database; throws on bad config
  /// or when the port cannot be bound.
  explicit Ms1Service(common::Config config);
  ~Ms1Service() override;

  /// Runs until SIGINT/SIGTERM (or shutdown()) and a graceful drain; returns the exit code.
  int run();

  /// Begins a graceful shutdown from any thread.
  void shutdown();

  /// Routes one HTTP request (runs on the event loop).
  void handle(HttpRequest&& request, Responder respond) override;
  /// Sends one message of the session to MS2, opening its cycle's root span.
  bool send(const common::Message& message, bool resend) override;
  /// Records the ended session, then prints the finish line and answers waiting /stop calls.
  void finished(const SessionSummary& summary) override;
  /// Resends what was in flight when the MS2 link came back.
  void on_link_up() override;
  /// Tells the session about the lost MS2 link (at most once gives up what was in flight); the
  /// WebSocket client reconnects by itself.
  void on_link_down() override;

 private:
  void on_start(Responder respond);
  void on_stop(Responder respond);
  void on_store(const HttpRequest& request, Responder respond, const std::shared_ptr<common::tracing::Span>& span);
  void end_cycle_span(const common::Message& message, common::tracing::StatusCode code, const char* why);
  HttpResponse status_response() const;
  HttpResponse health_response() const;
  void after_stop();
  void arm_progress();
  void arm_resend_check();
  /// Writes the session's outcome, retrying while the database is unreachable (a restart must not
  /// leave the session open), then prints the finish line and answers /stop.
  void record_finish(const SessionSummary& summary);
  void begin_shutdown();
  void complete_shutdown();
  void register_metrics();
  void observe_hops(const common::Message& message);

  /// What /metrics exposes beyond the gauges read at scrape time; all updated on the event loop.
  struct Metrics {
    common::Counter* sent = nullptr;         ///< frames handed to the WebSocket, resends included
    common::Counter* stored = nullptr;       ///< /store requests that added a row
    common::Counter* duplicate = nullptr;    ///< /store requests for a row already there
    common::Counter* rejected = nullptr;     ///< /store requests refused (4xx, or the database refused)
    common::Counter* unavailable = nullptr;  ///< /store requests answered 503 (database down or busy)
    common::Counter* sessions = nullptr;     ///< sessions finished and recorded
    common::Counter* resent = nullptr;       ///< messages sent again after a link drop or timeout (at least once)
    common::Counter* lost = nullptr;         ///< messages given up by finished sessions
    std::array<common::Histogram*, 4> hops{};  ///< ws, kafka, http hops and the whole cycle
  };

  common::Config config_;
  common::MetricsRegistry metrics_;  ///< before everything that registers into it
  common::tracing::Tracer tracer_;  ///< declared early: spans below must end before it goes
  /// Root span of each message's cycle, from send until stored; window-sized. Keyed by (session, id).
  std::map<std::pair<std::int64_t, std::int64_t>, common::tracing::Span> cycle_spans_;
  boost::asio::io_context ioc_{1};
  SessionController controller_{*this};
  std::unique_ptr<StoreWriter> writer_;
  std::shared_ptr<WsClient> ws_;
  std::shared_ptr<HttpListener> listener_;
  boost::asio::steady_timer duration_timer_{ioc_};
  boost::asio::steady_timer drain_timer_{ioc_};
  boost::asio::steady_timer progress_timer_{ioc_};
  boost::asio::steady_timer resend_timer_{ioc_};
  boost::asio::steady_timer finish_retry_timer_{ioc_};
  boost::asio::signal_set signals_{ioc_, SIGINT, SIGTERM};

  bool starting_ = false;        ///< a /start waits for its session id from the database
  bool finishing_ = false;       ///< a finished session is being recorded
  bool shutting_down_ = false;
  std::vector<Responder> stop_waiters_;  ///< /stop requests answered once the session is recorded
  std::optional<SessionSummary> last_summary_;
  Metrics m_;
};

}  // namespace ringtrace::ms1
