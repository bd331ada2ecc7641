#include "session_controller.hpp"

namespace ringtrace::ms1 {

std::string_view to_string(SessionState state) {
  switch (state) {
    case SessionState::kIdle: return "idle";
    case SessionState::kRunning: return "running";
    case SessionState::kDraining: return "draining";
  }
  return "unknown";
}

std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kDuration: return "duration";
    case StopReason::kStopped: return "stop";
    case StopReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

bool SessionController::start(std::int64_t session_id, SessionSettings settings, SteadyClock::time_point now) {
  if (state_ != SessionState::kIdle) return false;
  state_ = SessionState::kRunning;
  settings_ = settings;
  session_id_ = session_id;
  next_id_ = 1;
  stored_ = 0;
  lost_ = 0;
  resent_ = 0;
  reason_ = StopReason::kDuration;
  started_ = now;
  started_wall_ = common::now_utc();
  in_flight_.clear();
  fill_window(now);
  return true;
}

void SessionController::fill_window(SteadyClock::time_point now) {
  while (state_ == SessionState::kRunning && in_flight_.size() < static_cast<std::size_t>(settings_.window)) {
    common::Message message;
    message.id = next_id_;
    message.session_id = session_id_;
    common::stamp(message, common::Hop::kMs1, common::now_utc());
    if (!port_.send(message, false)) return;  // link down: on_link_up() resumes
    ++next_id_;
    in_flight_.emplace(message.id, InFlight{message, now});
  }
}

void SessionController::settle(SteadyClock::time_point now) {
  if (state_ == SessionState::kDraining) {
    if (in_flight_.empty()) finish(now);
  } else {
    fill_window(now);
  }
}

void SessionController::stop(StopReason reason, SteadyClock::time_point now) {
  if (state_ != SessionState::kRunning) return;
  reason_ = reason;
  state_ = SessionState::kDraining;
  if (in_flight_.empty()) finish(now);
}

bool SessionController::on_stored(const common::Message& message, SteadyClock::time_point now) {
  if (state_ == SessionState::kIdle || message.session_id != session_id_) return false;
  if (in_flight_.erase(message.id) == 0) return false;
  ++stored_;
  settle(now);
  return true;
}

void SessionController::on_link_up(SteadyClock::time_point now) {
  if (state_ == SessionState::kIdle) return;
  if (settings_.resend) {
    for (auto& [id, entry] : in_flight_) {
      if (!port_.send(entry.message, true)) return;
      entry.sent_at = now;
      ++resent_;
    }
  }
  fill_window(now);
}

void SessionController::on_link_down(SteadyClock::time_point now) {
  if (state_ == SessionState::kIdle || settings_.resend) return;
  lost_ += static_cast<std::int64_t>(in_flight_.size());
  in_flight_.clear();
  // Nothing to send on a dead link: a running session waits for on_link_up(), a draining one ends.
  if (state_ == SessionState::kDraining) finish(now);
}

void SessionController::on_tick(SteadyClock::time_point now) {
  if (state_ == SessionState::kIdle || settings_.resend_timeout.count() <= 0) return;
  const auto deadline = now - settings_.resend_timeout;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.sent_at > deadline) {
      ++it;
    } else if (!settings_.resend) {
      ++lost_;
      it = in_flight_.erase(it);
    } else {
      if (!port_.send(it->second.message, true)) return;  // link down: on_link_up() resends
      it->second.sent_at = now;
      ++resent_;
      ++it;
    }
  }
  settle(now);
}

void SessionController::on_drain_timeout(SteadyClock::time_point now) {
  if (state_ == SessionState::kDraining) finish(now);
}

SessionStatus SessionController::status(SteadyClock::time_point now) const {
  SessionStatus status;
  status.state = state_;
  status.session_id = session_id_;
  status.sent = next_id_ - 1;
  status.stored = stored_;
  status.in_flight = static_cast<std::int64_t>(in_flight_.size());
  status.lost = lost_;
  status.resent = resent_;
  if (state_ != SessionState::kIdle) status.elapsed = now - started_;
  return status;
}

void SessionController::finish(SteadyClock::time_point now) {
  SessionSummary summary;
  summary.session_id = session_id_;
  summary.reason = reason_;
  summary.sent = next_id_ - 1;
  summary.stored = stored_;
  summary.lost = lost_ + static_cast<std::int64_t>(in_flight_.size());
  summary.resent = resent_;
  summary.elapsed = now - started_;
  summary.started_at = started_wall_;
  summary.finished_at = common::now_utc();
  state_ = SessionState::kIdle;
  in_flight_.clear();
  port_.finished(summary);
}

}  // namespace ringtrace::ms1
