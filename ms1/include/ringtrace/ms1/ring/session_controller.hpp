#pragma once
/// @file
/// The session state machine of MS1, free of I/O so it can be tested with fake transports.

#include <cstdint>
#include <map>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/ring/session_types.hpp"

namespace ringtrace::ms1 {

/// What the controller drives: the WebSocket towards MS2 and whoever records the outcome.
class SessionPort {
 public:
  virtual ~SessionPort() = default;
  /// Sends a message to MS2 (`resend`: the same message again) and on success puts the root span
  /// of its cycle into `cycle`, ending the one a resend replaces; false when the link is down
  /// (nothing was sent, `cycle` is left as it was).
  virtual bool send(const common::Message& message, bool resend, common::tracing::Span& cycle) = 0;
  /// The session is over and now kFinishing; called exactly once per session. recorded() ends
  /// the finishing state, and may be called from within this call.
  virtual void finished(const SessionSummary& summary) = 0;
};

/// Generates messages for one session at a time and keeps `window` of them in flight; every
/// state a session passes through, from the /start that waits for its id to the recording of
/// its outcome, is kept here. Not thread-safe: MS1 calls it from its single event-loop thread only.
class SessionController {
 public:
  /// `port` must outlive the controller; `configured` is what settings() says before a first session.
  explicit SessionController(SessionPort& port, SessionSettings configured = {})
      : port_(port), settings_(configured) {}

  /// Idle to starting while the session id is fetched; false (and no change) unless idle.
  bool begin_start();
  /// Starting back to idle: the session could not be recorded. No-op unless starting.
  void cancel_start();

  /// Begins session `session_id` and fills the window; false (and no change) unless idle or starting.
  bool start(std::int64_t session_id, SessionSettings settings, SteadyClock::time_point now);

  /// What the current or last session was asked to do (before the first, the configured settings):
  /// kept here only, where the session runs by them.
  [[nodiscard]] const SessionSettings& settings() const { return settings_; }

  /// Stops generating; finishes at once when nothing is in flight, else drains. No-op unless running.
  void stop(StopReason reason, SteadyClock::time_point now);

  /// A message came back through /store and is durable; counts it once if it is ours and in flight,
  /// and ends its cycle span as a success. Returns true when it belonged to the in-flight set.
  bool on_stored(const common::Message& message, SteadyClock::time_point now);

  /// Whether `message` is one this controller generated, judged against the session it began
  /// last, which stays its own through draining and finishing until the next one begins.
  [[nodiscard]] MessageOrigin classify(const common::Message& message) const;

  /// The link to MS2 is (again) up: resends what was in flight (the store is idempotent, so a
  /// message that did get through is stored once) and fills the window.
  void on_link_up(SteadyClock::time_point now);

  /// The link to MS2 dropped: at most once, what was in flight is given up (counted lost) rather
  /// than resent; at least once, it stays in flight for on_link_up().
  void on_link_down(SteadyClock::time_point now);

  /// Periodic check: messages in flight longer than the resend timeout are resent (at least once)
  /// or given up (at most once). A no-op without a timeout.
  void on_tick(SteadyClock::time_point now);

  /// The drain wait ran out: finishes, counting what is still in flight as lost.
  void on_drain_timeout(SteadyClock::time_point now);

  /// The finished session's outcome is recorded (or given up on): finishing to idle.
  void recorded();

  /// Current state.
  [[nodiscard]] SessionState state() const { return state_; }
  /// True while a session is running or draining, the states in which messages travel.
  [[nodiscard]] bool active() const { return state_ == SessionState::kRunning || state_ == SessionState::kDraining; }

  /// Snapshot for /status and progress lines.
  [[nodiscard]] SessionStatus status(SteadyClock::time_point now) const;

 private:
  /// A message sent and not back yet, with the span of its cycle (ends when the entry goes).
  struct InFlight {
    common::Message message;
    SteadyClock::time_point sent_at;
    common::tracing::Span cycle;
  };

  void fill_window(SteadyClock::time_point now);
  void finish(SteadyClock::time_point now);
  /// Finishes a draining session once nothing is in flight; otherwise tops the window up.
  void settle(SteadyClock::time_point now);
  /// Counts `entry` lost and ends its span as a failure (the caller erases it).
  void give_up(InFlight& entry, const char* why);

  SessionPort& port_;
  SessionState state_ = SessionState::kIdle;
  SessionSettings settings_;
  std::int64_t session_id_ = 0;
  std::int64_t next_id_ = 1;
  std::int64_t stored_ = 0;
  std::int64_t lost_ = 0;
  std::int64_t resent_ = 0;
  StopReason reason_ = StopReason::kDuration;
  SteadyClock::time_point started_{};
  common::Timestamp started_wall_{};
  std::map<std::int64_t, InFlight> in_flight_;  ///< by id; small (window-sized)
};

}  // namespace ringtrace::ms1
