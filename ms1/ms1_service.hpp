#pragma once
/// @file
/// MS1: the HTTP API, the session controller, the WebSocket link to MS2 and the database writer.

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http_listener.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"
#include "session_controller.hpp"
#include "store_writer.hpp"
#include "ws_client.hpp"

namespace ringtrace::ms1 {

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

  void handle(HttpRequest&& request, Responder respond) override;
  bool send(const common::Message& message) override;
  void finished(const SessionSummary& summary) override;
  void on_link_up() override;
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
  void begin_shutdown();
  void complete_shutdown();

  common::Config config_;
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
  boost::asio::signal_set signals_{ioc_, SIGINT, SIGTERM};

  bool starting_ = false;        ///< a /start waits for its session id from the database
  bool finishing_ = false;       ///< a finished session is being recorded
  bool shutting_down_ = false;
  std::vector<Responder> stop_waiters_;  ///< /stop requests answered once the session is recorded
  std::optional<SessionSummary> last_summary_;
  std::uint64_t stores_ok_ = 0;
  std::uint64_t stores_duplicate_ = 0;
  std::uint64_t stores_rejected_ = 0;
};

}  // namespace ringtrace::ms1
