#pragma once
/// @file
/// Runs MS1's sessions: owns the state machine, the timers that drive it and the spans of the
/// messages in flight, and records each session's outcome through the database writer.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/ring/clock_book.hpp"
#include "ringtrace/ms1/ring/ms1_metrics.hpp"
#include "ringtrace/ms1/ring/ms2_link.hpp"
#include "ringtrace/ms1/ring/session_controller.hpp"
#include "ringtrace/ms1/ring/store_writer.hpp"

namespace ringtrace::ms1 {

/// What the session runner reads of the configuration.
struct RunnerSettings {
  common::InteractionConfig interaction;  ///< the session's defaults, its drain, progress and resend timing
  /// Whether what may have been lost is sent again (resends()) or given up.
  common::DeliveryPolicy delivery = common::DeliveryPolicy::of(common::Delivery::kAtLeastOnce);
  common::Naming naming = common::Naming::kService;  ///< the message's field names
  std::string ms2_url;  ///< where the messages go, for span attributes
  /// Picks the settings out of the whole configuration, for the assembly.
  static RunnerSettings from(const common::Config& config);
};

/// The session side of MS1. Runs on the single event-loop thread; no locks.
class SessionRunner final : public SessionPort, public WsLinkListener {
 public:
  /// Completion of start(): the new session's id, or nullopt with the database's reason.
  using StartDone = std::function<void(std::optional<std::int64_t> id, const std::string& error)>;
  /// Completion of stop(): the session's outcome, once it is recorded.
  using StopDone = std::function<void(const SessionSummary& summary)>;

  /// Called after each finish line with the session's outcome; the runner goes on (and, shutting
  /// down, lets the loop end) once `done` is called, so what the hook prints comes before the end.
  using FinishHook = std::function<void(const SessionSummary& summary, std::function<void()> done)>;

  /// Everything referenced must outlive the runner. `link` carries the messages to MS2 (it tells
  /// the runner of its ups and downs once started); `after_finish`, when given, runs after each
  /// finish line (MS1 prints the latency line from it).
  SessionRunner(boost::asio::io_context& ioc, const RunnerSettings& settings, common::tracing::Tracer& tracer,
                StoreWriter& writer, Ms2Link& link, const Ms1Metrics& metrics, FinishHook after_finish = {});
  ~SessionRunner() override;

  /// What a session is asked to do, from the configuration.
  [[nodiscard]] const SessionSettings& settings() const { return settings_; }
  /// What the current (or last) session was asked to do: the configuration's settings with the
  /// overrides of its /start; the configuration's before any session.
  [[nodiscard]] const SessionSettings& session_settings() const { return controller_.settings(); }
  /// The state machine, read-only, for /status and /start's refusals.
  [[nodiscard]] const SessionController& controller() const { return controller_; }
  /// The last session recorded, for /status.
  [[nodiscard]] const std::optional<SessionSummary>& last_summary() const { return last_summary_; }
  /// The peer clock estimates, for the metrics.
  [[nodiscard]] const ClockBook& clock_book() const { return clock_book_; }
  /// True once shutdown() began.
  [[nodiscard]] bool shutting_down() const { return shutting_down_; }

  /// Fetches a session id (kStarting), then runs the session; `done` hears the outcome. When a
  /// session may not start now, says why and drops `done` instead.
  std::optional<StartRefusal> start(StartDone done) { return start(settings_, std::move(done)); }
  /// The same with settings of its own for this session (the API checks their ranges).
  std::optional<StartRefusal> start(const SessionSettings& settings, StartDone done);

  /// Stops the running session, or joins one already draining or finishing; `done` is called
  /// once it is recorded. False (and `done` dropped) when idle or starting.
  bool stop(StopDone done);
  /// A message is stored: counts it for the session and ends its cycle span.
  void on_stored(const common::Message& message);

  /// Ends a running session with reason shutdown; `idle` is called once nothing is left to
  /// record (at once when idle). Call once.
  void shutdown(std::function<void()> idle);
  /// Cancels every timer, so the event loop can end.
  void cancel();

  /// Sends one message of the session to MS2, opening its cycle's root span.
  bool send(const common::Message& message, bool resend, common::tracing::Span& cycle) override;
  /// Records the ended session, then prints the finish line and answers waiting stop() calls.
  void finished(const SessionSummary& summary) override;
  /// Resends what was in flight when the MS2 link came back.
  void on_link_up() override;
  /// Tells the session about the lost MS2 link (at most once gives up what was in flight); the
  /// WebSocket client reconnects by itself.
  void on_link_down() override;
  /// One answered clock probe: MS2's clock, fed to the clock book.
  void on_clock_sample(const common::ClockSample& sample) override;
  /// MS3's report of its estimate of MS1's clock minus its own, from a /store request.
  void on_peer_clock(const common::ClockEstimate& report);

 private:
  void after_stop();
  void arm_progress();
  void arm_resend_check();
  /// Writes the session's outcome, retrying while the database is unreachable (a restart must not
  /// leave the session open), then prints the finish line and answers stop().
  void record_finish(const SessionSummary& summary);
  void notify_idle();

  RunnerSettings config_;
  common::tracing::Tracer& tracer_;
  StoreWriter& writer_;
  const Ms1Metrics& m_;
  Ms2Link& link_;
  SessionSettings settings_;  ///< from the configuration; the session's own are the controller's
  FinishHook after_finish_;
  SessionController controller_{*this, settings_};  ///< holds the cycle spans, so the runner must go before the tracer
  boost::asio::steady_timer duration_timer_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer progress_timer_;
  boost::asio::steady_timer resend_timer_;
  boost::asio::steady_timer finish_retry_timer_;
  bool shutting_down_ = false;
  std::function<void()> on_idle_;        ///< shutdown()'s completion
  std::vector<StopDone> stop_waiters_;  ///< stop() calls answered once the session is recorded
  std::optional<SessionSummary> last_summary_;
  ClockBook clock_book_;
};

}  // namespace ringtrace::ms1
