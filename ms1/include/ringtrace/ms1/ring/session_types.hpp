#pragma once
/// @file
/// The words a session is described in, shared by the state machine, the API and the storage
/// layer, so that storage does not depend on the controller.

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms1 {

/// Monotonic clock for elapsed times (wall clock jumps must not bend session lengths).
using SteadyClock = std::chrono::steady_clock;

/// Where a session is in its life; the one place MS1's session state is kept.
enum class SessionState {
  kIdle,       ///< no session; /start may begin one
  kStarting,   ///< a /start waits for its session id from the database
  kRunning,    ///< generating and keeping the window full
  kDraining,   ///< stopped generating; waiting for what is in flight
  kFinishing,  ///< ended; its outcome is being recorded
};

/// Whose message a POST /store body is, as far as the session state on the event loop can tell.
enum class MessageOrigin {
  kOwn,      ///< an id the controller's session has sent (1 <= id < the next id it would generate)
  kNotSent,  ///< the controller's session, but an id it never sent
  kOther,    ///< another session (an earlier one, or an earlier MS1's): the sessions table decides
};

/// Why a session may not start now; SessionRunner::start() is the one place that decides.
enum class StartRefusal {
  kShuttingDown,         ///< MS1 is stopping
  kBusy,                 ///< a session is starting, running, draining or being recorded
  kMs2Unreachable,       ///< the WebSocket link to MS2 is down (reconnecting)
  kDatabaseUnreachable,  ///< the writer has no database connection (reconnecting)
};

/// Why a session stopped generating.
enum class StopReason { kDuration, kStopped, kShutdown };

/// `idle`, `starting`, `running`, `draining`, `finishing`: the spelling used in /status.
std::string_view to_string(SessionState state);

/// `duration`, `stop`, `shutdown`: the spelling used in the finish line and the sessions table.
std::string_view to_string(StopReason reason);

/// What a session was asked to do.
struct SessionSettings {
  int duration_seconds = 10;  ///< generation interval
  int window = 1;             ///< messages in flight at once
  /// A message that may have been lost is sent again (the store keeps one copy), or (false) is
  /// counted lost, so nothing ever travels twice: common::DeliveryPolicy::resends() of the mode.
  bool resend = true;
  /// A message not back after this may have been lost on the way; zero waits for ever.
  std::chrono::milliseconds resend_timeout{0};
};

/// How far one peer's wall clock was from MS1's during a session, as the ring estimated it, so a
/// report can correct hops whose two stamps come from different clocks.
struct ClockRecord {
  common::Hop clock = common::Hop::kMs2;  ///< whose clock: kMs2 or kMs3 (the stamp it writes)
  std::int64_t offset_us = 0;             ///< that clock minus MS1's, in microseconds
  std::int64_t uncertainty_us = 0;        ///< the true offset lies within offset ± this
  std::int64_t samples = 0;               ///< exchanges the estimate was chosen from
  common::Timestamp measured_at{};        ///< MS1's wall clock when the chosen exchange ended
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
  std::vector<ClockRecord> clocks;        ///< the session's best clock estimates; empty when none
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
  SteadyClock::duration elapsed{};           ///< since start (0 unless running or draining)
};

}  // namespace ringtrace::ms1
