#pragma once
/// @file
/// The session state machine of MS1, free of I/O so it can be tested with fake transports.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>

#include "ringtrace/common/message.hpp"

namespace ringtrace::ms1 {

/// Monotonic clock for elapsed times (wall clock jumps must not bend session lengths).
using SteadyClock = std::chrono::steady_clock;

/// Where a session is in its life.
enum class SessionState { kIdle, kRunning, kDraining };

/// Why a session stopped generating.
enum class StopReason { kDuration, kStopped, kShutdown };

/// `idle`, `running`, `draining`: the spelling used in /status.
std::string_view to_string(SessionState state);

/// `duration`, `stop`, `shutdown`: the spelling used in the finish line and the sessions table.
std::string_view to_string(StopReason reason);

/// What a session was asked to do.
struct SessionSettings {
  int duration_seconds = 10;  ///< generation interval
  int window = 1;             ///< messages in flight at once
  /// At least once: a message that may have been lost is sent again (the store keeps one copy).
  /// At most once (false): it is counted lost instead, so nothing ever travels twice.
  bool resend = true;
  /// A message not back after this may have been lost on the way; zero waits for ever.
  std::chrono::milliseconds resend_timeout{0};
};

/// The outcome of a finished session, as printed and recorded.
struct SessionSummary {
  std::int64_t session_id = 0;            ///< the session
  StopReason reason = StopReason::kDuration;  ///< why generation stopped
  std::int64_t sent = 0;                  ///< messages generated and sent to MS2
  std::int64_t stored = 0;                ///< of those, stored after their round trip
  std::int64_t lost = 0;                  ///< given up: in flight when the drain timed out, or (at most once) after a link drop or timeout
  std::int64_t resent = 0;                ///< sends repeated after a link drop or timeout (at least once)
  SteadyClock::duration elapsed{};        ///< wall time from start to finish
  common::Timestamp started_at{};         ///< wall clock at start
  common::Timestamp finished_at{};        ///< wall clock at finish
};

/// A consistent snapshot for /status.
struct SessionStatus {
  SessionState state = SessionState::kIdle;  ///< current state
  std::int64_t session_id = 0;               ///< 0 when no session has run yet
  std::int64_t sent = 0;                     ///< generated so far
  std::int64_t stored = 0;                   ///< stored so far
  std::int64_t in_flight = 0;                ///< sent, not yet back
  std::int64_t lost = 0;                     ///< given up so far (at most once)
  std::int64_t resent = 0;                   ///< sends repeated so far (at least once)
  SteadyClock::duration elapsed{};           ///< since start (0 when idle)
};

/// What the controller drives: the WebSocket towards MS2 and whoever records the outcome.
class SessionPort {
 public:
  virtual ~SessionPort() = default;
  /// Sends a message to MS2 (`resend`: the same message again); false when the link is down (nothing was sent).
  virtual bool send(const common::Message& message, bool resend) = 0;
  /// The session is over; called exactly once per session.
  virtual void finished(const SessionSummary& summary) = 0;
};

/// Generates messages for one session at a time and keeps `window` of them in flight.
/// Not thread-safe: MS1 calls it from its single event-loop thread only.
class SessionController {
 public:
  /// `port` must outlive the controller.
  explicit SessionController(SessionPort& port) : port_(port) {}

  /// Begins session `session_id` and fills the window; false (and no change) unless idle.
  bool start(std::int64_t session_id, SessionSettings settings, SteadyClock::time_point now);

  /// Stops generating; finishes at once when nothing is in flight, else drains. No-op unless running.
  void stop(StopReason reason, SteadyClock::time_point now);

  /// A message came back through /store and is durable; counts it once if it is ours and in flight.
  /// Returns true when it belonged to the current session's in-flight set.
  bool on_stored(const common::Message& message, SteadyClock::time_point now);

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

  /// Current state.
  [[nodiscard]] SessionState state() const { return state_; }

  /// Snapshot for /status and progress lines.
  [[nodiscard]] SessionStatus status(SteadyClock::time_point now) const;

 private:
  /// A message sent and not back yet.
  struct InFlight {
    common::Message message;
    SteadyClock::time_point sent_at;
  };

  void fill_window(SteadyClock::time_point now);
  void finish(SteadyClock::time_point now);
  /// Finishes a draining session once nothing is in flight; otherwise tops the window up.
  void settle(SteadyClock::time_point now);

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
