#include "ringtrace/ms1/ring/session_controller.hpp"

namespace ringtrace::ms1 {

namespace tracing = common::tracing;

bool SessionController::begin_start() {
  if (state_ != SessionState::kIdle) return false;
  state_ = SessionState::kStarting;
  return true;
}

void SessionController::cancel_start() {
  if (state_ == SessionState::kStarting) state_ = SessionState::kIdle;
}

bool SessionController::start(std::int64_t session_id, SessionSettings settings, SteadyClock::time_point now) {
  if (state_ != SessionState::kIdle && state_ != SessionState::kStarting) return false;
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
    tracing::Span cycle;
    if (!port_.send(message, false, cycle)) return;  // link down: on_link_up() resumes
    ++next_id_;
    in_flight_.emplace(message.id, InFlight{message, now, std::move(cycle)});
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
  if (!active() || message.session_id != session_id_) return false;
  const auto it = in_flight_.find(message.id);
  if (it == in_flight_.end()) return false;
  it->second.cycle.set_status(tracing::StatusCode::kOk);
  in_flight_.erase(it);
  ++stored_;
  settle(now);
  return true;
}

MessageOrigin SessionController::classify(const common::Message& message) const {
  if (session_id_ == 0 || message.session_id != session_id_) return MessageOrigin::kOther;
  // next_id_ moves only once a message is handed to the link, so every id below it was sent.
  return message.id >= 1 && message.id < next_id_ ? MessageOrigin::kOwn : MessageOrigin::kNotSent;
}

void SessionController::on_link_up(SteadyClock::time_point now) {
  if (!active()) return;
  if (settings_.resend) {
    for (auto& [id, entry] : in_flight_) {
      if (!port_.send(entry.message, true, entry.cycle)) return;
      entry.sent_at = now;
      ++resent_;
    }
  }
  fill_window(now);
}

void SessionController::give_up(InFlight& entry, const char* why) {
  ++lost_;
  entry.cycle.set_status(tracing::StatusCode::kError, why);
}

void SessionController::on_link_down(SteadyClock::time_point now) {
  if (!active() || settings_.resend) return;
  for (auto& [id, entry] : in_flight_) give_up(entry, "given up: the MS2 link dropped (at most once)");
  in_flight_.clear();
  // Nothing to send on a dead link: a running session waits for on_link_up(), a draining one ends.
  if (state_ == SessionState::kDraining) finish(now);
}

void SessionController::on_tick(SteadyClock::time_point now) {
  if (!active() || settings_.resend_timeout.count() <= 0) return;
  const auto deadline = now - settings_.resend_timeout;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.sent_at > deadline) {
      ++it;
    } else if (!settings_.resend) {
      give_up(it->second, "given up: not back before the resend timeout (at most once)");
      it = in_flight_.erase(it);
    } else {
      if (!port_.send(it->second.message, true, it->second.cycle)) return;  // link down: on_link_up() resends
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

void SessionController::recorded() {
  if (state_ == SessionState::kFinishing) state_ = SessionState::kIdle;
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
  if (active()) status.elapsed = now - started_;
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
  for (auto& [id, entry] : in_flight_) {
    entry.cycle.set_status(tracing::StatusCode::kError, "not back before the session ended");
  }
  in_flight_.clear();  // ends the spans of what never came back
  state_ = SessionState::kFinishing;
  port_.finished(summary);
}

}  // namespace ringtrace::ms1
