#include "ringtrace/ms1/ring/session_runner.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/logging.hpp"
#include "ringtrace/common/trace_names.hpp"

namespace ringtrace::ms1 {

namespace tracing = common::tracing;
namespace attr = tracing::attr;
using std::chrono::milliseconds;

namespace {
double seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

RunnerSettings RunnerSettings::from(const common::Config& config) {
  return {config.interaction, common::DeliveryPolicy::of(config.kafka.delivery), config.message.naming,
          config.ms1.ms2_url};
}

SessionRunner::SessionRunner(boost::asio::io_context& ioc, const RunnerSettings& settings, tracing::Tracer& tracer,
                             StoreWriter& writer, Ms2Link& link, const Ms1Metrics& metrics, FinishHook after_finish)
    : config_(settings),
      tracer_(tracer),
      writer_(writer),
      m_(metrics),
      link_(link),
      settings_{settings.interaction.duration_seconds, settings.interaction.window, settings.delivery.resends(),
                milliseconds(settings.interaction.resend_timeout_ms)},
      after_finish_(std::move(after_finish)),
      duration_timer_(ioc),
      drain_timer_(ioc),
      progress_timer_(ioc),
      resend_timer_(ioc),
      finish_retry_timer_(ioc) {}

SessionRunner::~SessionRunner() = default;

std::optional<StartRefusal> SessionRunner::start(const SessionSettings& settings, StartDone done) {
  if (shutting_down_) return StartRefusal::kShuttingDown;
  if (controller_.state() != SessionState::kIdle) return StartRefusal::kBusy;
  if (!link_.connected()) return StartRefusal::kMs2Unreachable;
  if (!writer_.connected()) return StartRefusal::kDatabaseUnreachable;
  controller_.begin_start();
  // The peer clocks' live estimates go with the session's row, so even a session MS1 never gets to
  // finish has an offset to correct its hops by.
  const auto now = common::now_utc();
  const std::vector<ClockRecord> clocks = clock_book_.live_records(now);
  writer_.begin_session(settings, now, clocks, [this, settings, done = std::move(done)](
                                                         std::optional<std::int64_t> id, const std::string& error) {
    if (!id || shutting_down_) {
      controller_.cancel_start();
      done(id, error);
      if (shutting_down_) notify_idle();
      return;
    }
    common::announce(fmt::format("interaction started: session_id={} duration={}s window={}", *id,
                                 settings.duration_seconds, settings.window));
    controller_.start(*id, settings, SteadyClock::now());
    clock_book_.begin(*id);
    duration_timer_.expires_after(std::chrono::seconds(settings.duration_seconds));
    duration_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      controller_.stop(StopReason::kDuration, SteadyClock::now());
      after_stop();
    });
    arm_progress();
    arm_resend_check();
    done(id, error);
  });
  return std::nullopt;
}

bool SessionRunner::stop(StopDone done) {
  const auto state = controller_.state();
  if (state == SessionState::kIdle || state == SessionState::kStarting) return false;
  stop_waiters_.push_back(std::move(done));
  if (state == SessionState::kRunning) {
    controller_.stop(StopReason::kStopped, SteadyClock::now());
    after_stop();
  }
  return true;
}

void SessionRunner::on_stored(const common::Message& message) { controller_.on_stored(message, SteadyClock::now()); }

void SessionRunner::shutdown(std::function<void()> idle) {
  shutting_down_ = true;
  on_idle_ = std::move(idle);
  finish_retry_timer_.cancel();
  if (controller_.state() == SessionState::kRunning) {
    controller_.stop(StopReason::kShutdown, SteadyClock::now());
    after_stop();
  } else if (controller_.state() == SessionState::kIdle) {
    notify_idle();
  }
  // Otherwise the start's completion or the recorded finish calls `idle`.
}

void SessionRunner::notify_idle() {
  if (on_idle_) on_idle_();
}

void SessionRunner::cancel() {
  resend_timer_.cancel();
  finish_retry_timer_.cancel();
  duration_timer_.cancel();
  drain_timer_.cancel();
  progress_timer_.cancel();
}

bool SessionRunner::send(const common::Message& message, bool resend, tracing::Span& cycle) {
  if (!tracer_.enabled()) {
    if (!link_.send(common::encode(message, config_.naming))) return false;
    m_.sent->inc();
    if (resend) m_.resent->inc();
    return true;
  }
  // The root of the message's trace: it lasts the whole cycle and ends when the message is stored.
  auto span = tracer_.start_span(tracing::span::kSend, tracing::SpanKind::kProducer);
  span.set_attribute(attr::kMessagingSystem, std::string(tracing::system_name::kWebSocket));
  span.set_attribute(attr::kMessagingDestination, config_.ms2_url);
  span.set_attribute(attr::kSessionId, message.session_id);
  span.set_attribute(attr::kMessageId, message.id);
  if (!link_.send(common::encode(message, config_.naming, span.traceparent()))) {
    span.set_status(tracing::StatusCode::kError, "MS2 link down");
    return false;
  }
  m_.sent->inc();
  if (resend) m_.resent->inc();
  cycle.set_status(tracing::StatusCode::kError, "resent: the MS2 link dropped or the message was late");
  cycle = std::move(span);  // ends the span of the copy this one replaces
  return true;
}

void SessionRunner::after_stop() {
  if (controller_.state() != SessionState::kDraining) return;
  drain_timer_.expires_after(milliseconds(config_.interaction.drain_timeout_ms));
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) controller_.on_drain_timeout(SteadyClock::now());
  });
}

void SessionRunner::arm_progress() {
  if (config_.interaction.progress_interval_ms <= 0) return;
  progress_timer_.expires_after(milliseconds(config_.interaction.progress_interval_ms));
  progress_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !controller_.active()) return;
    const auto s = controller_.status(SteadyClock::now());
    std::printf("interaction progress: session_id=%lld elapsed=%.1fs messages=%lld stored=%lld in_flight=%lld\n",
                static_cast<long long>(s.session_id), seconds(s.elapsed), static_cast<long long>(s.sent),
                static_cast<long long>(s.stored), static_cast<long long>(s.in_flight));
    std::fflush(stdout);
    arm_progress();
  });
}

void SessionRunner::arm_resend_check() {
  const auto timeout = milliseconds(config_.interaction.resend_timeout_ms);
  if (timeout.count() <= 0) return;
  // A quarter of the timeout: a late message waits at most 25% longer than configured.
  resend_timer_.expires_after(std::clamp(timeout / 4, milliseconds(10), milliseconds(1000)));
  resend_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !controller_.active()) return;
    controller_.on_tick(SteadyClock::now());
    if (controller_.active()) arm_resend_check();
  });
}

void SessionRunner::finished(const SessionSummary& summary) {
  duration_timer_.cancel();
  drain_timer_.cancel();
  progress_timer_.cancel();
  resend_timer_.cancel();
  m_.lost->inc(static_cast<std::uint64_t>(summary.lost));
  if (summary.lost > 0) {
    spdlog::warn("session {}: {} message(s) given up ({}; drain timeout {} ms)", summary.session_id, summary.lost,
                 common::to_string(config_.delivery.mode), config_.interaction.drain_timeout_ms);
  }
  // The session's best estimates go with its outcome, so its hops can be corrected later.
  auto recorded = summary;
  recorded.clocks = clock_book_.session_records();
  record_finish(recorded);
}

void SessionRunner::record_finish(const SessionSummary& summary) {
  // Queued behind every row of the session: once this completes, the rows are in the database.
  writer_.finish_session(summary, [this, summary](const std::string& error) {
    if (!error.empty() && !shutting_down_ && !writer_.connected()) {
      spdlog::warn("session {} not recorded yet ({}); retrying when the database is back", summary.session_id, error);
      finish_retry_timer_.expires_after(std::chrono::seconds(1));
      finish_retry_timer_.async_wait([this, summary](boost::system::error_code ec) {
        if (!ec) return record_finish(summary);
        // Shutdown cancelled the wait: the row stays open and the next start marks it interrupted.
        if (shutting_down_) notify_idle();
      });
      return;
    }
    if (!error.empty()) spdlog::error("session {} could not be recorded: {}", summary.session_id, error);
    controller_.recorded();
    last_summary_ = summary;
    if (error.empty()) m_.sessions->inc();
    common::announce(fmt::format("interaction finished: session_id={} elapsed={:.3f}s messages={} stored={} reason={}",
                                 summary.session_id, seconds(summary.elapsed), summary.sent, summary.stored,
                                 to_string(summary.reason)));
    for (auto& waiter : std::exchange(stop_waiters_, {})) waiter(summary);
    if (!after_finish_ || !error.empty()) {
      if (shutting_down_) notify_idle();
      return;
    }
    // Only a recorded session has rows to report on.
    after_finish_(summary, [this] {
      if (shutting_down_) notify_idle();
    });
  });
}

void SessionRunner::on_clock_sample(const common::ClockSample& sample) { clock_book_.add_ms2_sample(sample); }

void SessionRunner::on_peer_clock(const common::ClockEstimate& report) {
  clock_book_.add_ms3_report(report, common::now_utc());
}

void SessionRunner::on_link_up() { controller_.on_link_up(SteadyClock::now()); }

void SessionRunner::on_link_down() {
  if (!controller_.active()) return;
  const auto in_flight = controller_.status(SteadyClock::now()).in_flight;
  if (controller_.settings().resend) {
    spdlog::warn("MS2 link dropped during the session; {} message(s) in flight will be resent on reconnect", in_flight);
  } else {
    spdlog::warn("MS2 link dropped during the session; {} message(s) in flight given up ({})", in_flight,
                 common::to_string(config_.delivery.mode));
  }
  controller_.on_link_down(SteadyClock::now());
}

}  // namespace ringtrace::ms1
