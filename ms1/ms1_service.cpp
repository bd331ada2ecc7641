#include "ms1_service.hpp"

#include <algorithm>
#include <cstdio>

#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/admin_server.hpp"
#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/logging.hpp"
#include "router.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
namespace tracing = common::tracing;
namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

double seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

/// Whole milliseconds, for JSON (Boost.JSON writes doubles in exponent form).
std::int64_t millis(SteadyClock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

HttpResponse error_response(http::status status, std::string_view reason) { return common::error_json(status, reason); }

/// Media types are case-insensitive (RFC 9110 8.3.1); parameters such as charset may follow.
bool is_json_media_type(std::string_view type) {
  constexpr std::string_view kJson = "application/json";
  if (type.size() < kJson.size() || !boost::beast::iequals(type.substr(0, kJson.size()), kJson)) return false;
  const auto rest = type.substr(kJson.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ';
}

/// MariaDB's DATETIME starts at the year 1000 and PostgreSQL has no year 0: older stamps, which
/// no clock of the ring makes, are refused before they reach the database.
constexpr common::Timestamp kEarliestStorable{std::chrono::sys_days{std::chrono::year{1000} / 1 / 1}};

/// The first stamp of `message` the database cannot store, as an error text; empty when all can be.
std::string unstorable_stamp(const common::Message& message, common::Naming naming) {
  for (std::size_t i = 0; i < common::kHopCount; ++i) {
    const auto& ts = message.stamps[i];
    if (ts && *ts < kEarliestStorable) {
      return std::string(common::field_name(naming, static_cast<common::Hop>(i))) +
             " is before the year 1000, which the database cannot store";
    }
  }
  return {};
}

json::object summary_json(const SessionSummary& s) {
  return {{"session_id", s.session_id},
          {"reason", to_string(s.reason)},
          {"elapsed_ms", millis(s.elapsed)},
          {"messages", s.sent},
          {"stored", s.stored},
          {"lost", s.lost},
          {"resent", s.resent}};
}

}  // namespace

Ms1Service::Ms1Service(common::Config config) : config_(std::move(config)), tracer_(config_.tracing, "ms1") {
  const auto ms2 = common::parse_endpoint(config_.ms1.ms2_url, "ws", "ms1.ms2_url");
  StoreWriterOptions options;
  options.batch_max = static_cast<std::size_t>(config_.database.batch_max);
  writer_ = std::make_unique<StoreWriter>(make_store(config_.database, config_.message.naming), ioc_.get_executor(),
                                          options);
  ws_ = std::make_shared<WsClient>(
      ioc_, ms2,
      common::Backoff(milliseconds(config_.ms1.reconnect_initial_ms), milliseconds(config_.ms1.reconnect_max_ms)),
      *this);
  const boost::asio::ip::tcp::endpoint bind{boost::asio::ip::make_address(config_.ms1.listen_address), config_.ms1.port};
  listener_ = std::make_shared<HttpListener>(
      ioc_, bind, *this, HttpLimits{config_.ms1.max_body_bytes, milliseconds(config_.ms1.request_timeout_ms)});
  register_metrics();
}

void Ms1Service::register_metrics() {
  auto& r = metrics_;
  m_.sent = &r.counter("ringtrace_messages_sent_total", "Messages sent to MS2 over the WebSocket, resends included");
  const std::string store_help = "POST /store requests by outcome";
  m_.stored = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "stored"}});
  m_.duplicate = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "duplicate"}});
  m_.rejected = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "rejected"}});
  m_.unavailable = &r.counter("ringtrace_store_requests_total", store_help, {{"outcome", "unavailable"}});
  r.gauge_fn("ringtrace_messages_in_flight", "Messages sent in the running session and not stored yet",
             [this] { return static_cast<double>(controller_.status(SteadyClock::now()).in_flight); });
  m_.sessions = &r.counter("ringtrace_sessions_finished_total", "Sessions ended and recorded in the database");
  m_.resent = &r.counter("ringtrace_messages_resent_total",
                         "Messages sent again because the MS2 link dropped or they were not back in time (at least once)");
  m_.lost = &r.counter("ringtrace_messages_lost_total",
                       "Messages finished sessions gave up on: not back by the drain timeout, or dropped (at most once)");
  // The four stamps give three hops and the cycle; MS1 sees them all once a message is back.
  const std::string hop_help = "Time between two stamps of a stored message (hop) or its first and last (cycle)";
  const std::array<const char*, 4> hops = {"ms1_to_ms2", "ms2_to_ms3", "ms3_to_ms1", "cycle"};
  for (std::size_t i = 0; i < hops.size(); ++i) {
    m_.hops[i] = &r.histogram("ringtrace_hop_latency_seconds", hop_help, common::latency_buckets(), {{"hop", hops[i]}});
  }
  r.gauge_fn("ringtrace_ms2_connected", "1 while the WebSocket link to MS2 is up",
             [this] { return ws_->connected() ? 1.0 : 0.0; });
  r.counter_fn("ringtrace_ms2_connects_total", "WebSocket handshakes with MS2; more than 1 means reconnects",
               [this] { return static_cast<double>(ws_->connects()); });
  r.gauge_fn("ringtrace_database_connected", "1 while the database connection is up",
             [this] { return writer_->connected() ? 1.0 : 0.0; });
  r.counter_fn("ringtrace_database_connects_total", "Database connections opened; more than 1 means reconnects",
               [this] { return static_cast<double>(writer_->connects()); });
  r.gauge_fn("ringtrace_database_queue_depth", "Jobs waiting for the database writer thread",
             [this] { return static_cast<double>(writer_->queue_depth()); });
  tracing::register_metrics(tracer_, r);
}

void Ms1Service::observe_hops(const common::Message& message) {
  const auto between = [&](common::Hop from, common::Hop to) {
    return std::chrono::duration<double>(*message.at(to) - *message.at(from)).count();
  };
  using common::Hop;
  m_.hops[0]->observe(between(Hop::kMs1, Hop::kMs2));
  m_.hops[1]->observe(between(Hop::kMs2, Hop::kMs3));
  m_.hops[2]->observe(between(Hop::kMs3, Hop::kEnd));
  m_.hops[3]->observe(between(Hop::kMs1, Hop::kEnd));
}

Ms1Service::~Ms1Service() {
  if (writer_) writer_->stop();
}

int Ms1Service::run() {
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {} received, shutting down", signal);
    begin_shutdown();
  });
  listener_->run();
  ws_->start();
  spdlog::info("ms1: listening on http://{}:{} (naming={}, database={})", config_.ms1.listen_address,
               listener_->local_endpoint().port(), common::to_string(config_.message.naming), config_.database.driver);
  ioc_.run();
  writer_->stop();
  spdlog::info("ms1: stopped (stored={} duplicates={} rejected={})", m_.stored->value(), m_.duplicate->value(),
               m_.rejected->value());
  return 0;
}

void Ms1Service::shutdown() {
  boost::asio::post(ioc_, [this] { begin_shutdown(); });
}

void Ms1Service::handle(HttpRequest&& request, Responder respond) {
  const std::string_view target = request.target();
  const Route handler = route(request.method_string(), target);
  std::shared_ptr<tracing::Span> span;
  if (tracer_.enabled() && (handler == Route::kStart || handler == Route::kStop || handler == Route::kStore)) {
    // A server span per request that changes state; /status and /healthz polls would only be noise.
    const std::string_view method = request.method_string();
    const std::string_view path = target.substr(0, target.find('?'));
    span = std::make_shared<tracing::Span>(tracer_.start_span(
        fmt::format("{} {}", method, path), tracing::SpanKind::kServer,
        tracing::parse_traceparent(std::string_view(request["traceparent"]))));
    span->set_attribute("http.request.method", std::string(method));
    span->set_attribute("http.route", std::string(path));
    respond = [span, respond = std::move(respond)](HttpResponse response) {
      span->set_attribute("http.response.status_code", static_cast<std::int64_t>(response.result_int()));
      if (response.result_int() >= 500) span->set_status(tracing::StatusCode::kError, response.body());
      span->end();
      respond(std::move(response));
    };
  }
  switch (handler) {
    case Route::kStart: return on_start(std::move(respond));
    case Route::kStop: return on_stop(std::move(respond));
    case Route::kStore: return on_store(request, std::move(respond), span);
    case Route::kStatus: return respond(status_response());
    case Route::kHealthz: return respond(health_response());
    case Route::kMetrics: return respond(common::metrics_response(metrics_));
    case Route::kMethodNotAllowed: {
      auto response = error_response(http::status::method_not_allowed,
                                     fmt::format("{} is not allowed on {}", std::string_view(request.method_string()), target));
      response.set(http::field::allow, allowed_method(target));
      return respond(std::move(response));
    }
    case Route::kNotFound:
      return respond(error_response(http::status::not_found, fmt::format("no route {} {}",
                                                                         std::string_view(request.method_string()), target)));
  }
}

void Ms1Service::on_start(Responder respond) {
  if (shutting_down_) return respond(error_response(http::status::service_unavailable, "MS1 is shutting down"));
  if (starting_ || finishing_ || controller_.state() != SessionState::kIdle) {
    const auto status = controller_.status(SteadyClock::now());
    json::object body{{"error", "a session is already running"},
                      {"session_id", status.session_id},
                      {"state", starting_ ? "starting" : finishing_ ? "finishing" : to_string(status.state)}};
    return respond(json_response(http::status::conflict, json::serialize(body)));
  }
  if (!ws_->connected()) {
    return respond(error_response(http::status::service_unavailable,
                                  "MS2 is not reachable at " + config_.ms1.ms2_url + " (reconnecting)"));
  }
  if (!writer_->connected()) {
    return respond(error_response(http::status::service_unavailable, "the database is not reachable (reconnecting)"));
  }
  starting_ = true;
  const SessionSettings settings{config_.interaction.duration_seconds, config_.interaction.window,
                                 config_.kafka.delivery != common::Delivery::kAtMostOnce,
                                 milliseconds(config_.interaction.resend_timeout_ms)};
  writer_->begin_session(settings, common::now_utc(),
                         [this, settings, respond = std::move(respond)](std::optional<std::int64_t> id,
                                                                        const std::string& error) {
                           starting_ = false;
                           if (!id) {
                             spdlog::error("cannot start a session: {}", error);
                             return respond(error_response(http::status::service_unavailable,
                                                           "cannot record the session: " + error));
                           }
                           if (shutting_down_) {
                             return respond(error_response(http::status::service_unavailable, "MS1 is shutting down"));
                           }
                           common::announce(fmt::format("interaction started: session_id={} duration={}s window={}", *id,
                                                        settings.duration_seconds, settings.window));
                           controller_.start(*id, settings, SteadyClock::now());
                           duration_timer_.expires_after(std::chrono::seconds(settings.duration_seconds));
                           duration_timer_.async_wait([this](boost::system::error_code ec) {
                             if (ec) return;
                             controller_.stop(StopReason::kDuration, SteadyClock::now());
                             after_stop();
                           });
                           arm_progress();
                           arm_resend_check();
                           json::object body{{"session_id", *id},
                                             {"state", "running"},
                                             {"duration_seconds", settings.duration_seconds},
                                             {"window", settings.window}};
                           respond(json_response(http::status::ok, json::serialize(body)));
                         });
}

void Ms1Service::on_stop(Responder respond) {
  if (finishing_ || controller_.state() == SessionState::kDraining) {
    stop_waiters_.push_back(std::move(respond));
    return;
  }
  if (controller_.state() == SessionState::kIdle) {
    return respond(error_response(http::status::conflict, starting_ ? "the session is still starting; retry"
                                                                    : "no session is running"));
  }
  stop_waiters_.push_back(std::move(respond));
  controller_.stop(StopReason::kStopped, SteadyClock::now());
  after_stop();
}

void Ms1Service::on_store(const HttpRequest& request, Responder respond, const std::shared_ptr<tracing::Span>& span) {
  const auto type = request[http::field::content_type];
  if (!type.empty() && !is_json_media_type(type)) {
    m_.rejected->inc();
    return respond(error_response(http::status::unsupported_media_type, "Content-Type must be application/json"));
  }
  auto decoded = common::decode(request.body(), config_.message.naming);
  if (!decoded) {
    m_.rejected->inc();
    spdlog::warn("/store rejected: {}", decoded.error);
    return respond(error_response(http::status::bad_request, decoded.error));
  }
  common::Message message = *decoded.message;
  if (const auto why = unstorable_stamp(message, config_.message.naming); !why.empty()) {
    m_.rejected->inc();
    spdlog::warn("/store rejected message {}/{}: {}", message.session_id, message.id, why);
    return respond(error_response(http::status::unprocessable_entity, why));
  }
  if (span) {
    span->set_attribute("session_id", message.session_id);
    span->set_attribute("message.id", message.id);
  }
  if (const auto result = common::stamp(message, common::Hop::kEnd, common::now_utc()); result != common::StampResult::kOk) {
    m_.rejected->inc();
    spdlog::warn("/store rejected message {}/{}: {}", message.session_id, message.id, to_string(result));
    return respond(error_response(http::status::unprocessable_entity, to_string(result)));
  }
  writer_->store(message, [this, message, respond = std::move(respond)](StoreOutcome outcome) {
    switch (outcome) {
      case StoreOutcome::kStored:
      case StoreOutcome::kDuplicate: {
        const bool fresh = outcome == StoreOutcome::kStored;
        (fresh ? m_.stored : m_.duplicate)->inc();
        // Only the first copy is timed: a resent message's stamps span the outage, not the ring.
        if (fresh) observe_hops(message);
        controller_.on_stored(message, SteadyClock::now());
        end_cycle_span(message, tracing::StatusCode::kOk, nullptr);
        return respond(json_response(http::status::ok, fresh ? R"({"stored":true})" : R"({"stored":false,"duplicate":true})"));
      }
      case StoreOutcome::kUnavailable:
      case StoreOutcome::kOverloaded: {
        m_.unavailable->inc();
        auto response = error_response(http::status::service_unavailable, outcome == StoreOutcome::kUnavailable
                                                                              ? "database unavailable, retry later"
                                                                              : "database writer overloaded, retry later");
        response.set(http::field::retry_after, "1");
        return respond(std::move(response));
      }
      case StoreOutcome::kRejected:
        // Permanent: the same row would be refused again, so a 4xx lets MS3 commit and move on
        // instead of retrying it forever in front of the messages behind it.
        m_.rejected->inc();
        spdlog::error("/store: the database refused message {}/{}; answered 422", message.session_id, message.id);
        return respond(error_response(http::status::unprocessable_entity, "the database refused the message"));
    }
  });
}

HttpResponse Ms1Service::status_response() const {
  const auto status = controller_.status(SteadyClock::now());
  json::object body{{"state", starting_ ? "starting" : finishing_ ? "finishing" : to_string(status.state)},
                    {"session_id", status.session_id},
                    {"sent", status.sent},
                    {"stored", status.stored},
                    {"in_flight", status.in_flight},
                    {"lost", status.lost},
                    {"resent", status.resent},
                    {"elapsed_ms", millis(status.elapsed)},
                    {"ms2_connected", ws_->connected()},
                    {"database_connected", writer_->connected()}};
  body["last_session"] = last_summary_ ? json::value(summary_json(*last_summary_)) : json::value(nullptr);
  return json_response(http::status::ok, json::serialize(body));
}

HttpResponse Ms1Service::health_response() const {
  const bool ready = ws_->connected() && writer_->connected() && !shutting_down_;
  json::object body{{"status", ready ? "ok" : "degraded"},
                    {"ms2_connected", ws_->connected()},
                    {"database_connected", writer_->connected()}};
  return json_response(ready ? http::status::ok : http::status::service_unavailable, json::serialize(body));
}

bool Ms1Service::send(const common::Message& message, bool resend) {
  if (!tracer_.enabled()) {
    if (!ws_->send(common::encode(message, config_.message.naming))) return false;
    m_.sent->inc();
    if (resend) m_.resent->inc();
    return true;
  }
  // The root of the message's trace: it lasts the whole cycle and ends when the message is stored.
  auto span = tracer_.start_span("send", tracing::SpanKind::kProducer);
  span.set_attribute("messaging.system", std::string("websocket"));
  span.set_attribute("messaging.destination.name", config_.ms1.ms2_url);
  span.set_attribute("session_id", message.session_id);
  span.set_attribute("message.id", message.id);
  if (!ws_->send(common::encode(message, config_.message.naming, span.traceparent()))) {
    span.set_status(tracing::StatusCode::kError, "MS2 link down");
    return false;
  }
  m_.sent->inc();
  if (resend) m_.resent->inc();
  end_cycle_span(message, tracing::StatusCode::kError, "resent: the MS2 link dropped or the message was late");
  cycle_spans_.emplace(std::make_pair(message.session_id, message.id), std::move(span));
  return true;
}

void Ms1Service::end_cycle_span(const common::Message& message, tracing::StatusCode code, const char* why) {
  const auto it = cycle_spans_.find({message.session_id, message.id});
  if (it == cycle_spans_.end()) return;
  it->second.set_status(code, why != nullptr ? why : "");
  it->second.end();
  cycle_spans_.erase(it);
}

void Ms1Service::after_stop() {
  if (controller_.state() != SessionState::kDraining) return;
  drain_timer_.expires_after(milliseconds(config_.interaction.drain_timeout_ms));
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) controller_.on_drain_timeout(SteadyClock::now());
  });
}

void Ms1Service::arm_progress() {
  if (config_.interaction.progress_interval_ms <= 0) return;
  progress_timer_.expires_after(milliseconds(config_.interaction.progress_interval_ms));
  progress_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || controller_.state() == SessionState::kIdle) return;
    const auto s = controller_.status(SteadyClock::now());
    std::printf("interaction progress: session_id=%lld elapsed=%.1fs messages=%lld stored=%lld in_flight=%lld\n",
                static_cast<long long>(s.session_id), seconds(s.elapsed), static_cast<long long>(s.sent),
                static_cast<long long>(s.stored), static_cast<long long>(s.in_flight));
    std::fflush(stdout);
    arm_progress();
  });
}

void Ms1Service::arm_resend_check() {
  const auto timeout = milliseconds(config_.interaction.resend_timeout_ms);
  if (timeout.count() <= 0) return;
  // A quarter of the timeout: a late message waits at most 25% longer than configured.
  resend_timer_.expires_after(std::clamp(timeout / 4, milliseconds(10), milliseconds(1000)));
  resend_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || controller_.state() == SessionState::kIdle) return;
    controller_.on_tick(SteadyClock::now());
    if (controller_.state() != SessionState::kIdle) arm_resend_check();
  });
}

void Ms1Service::finished(const SessionSummary& summary) {
  for (auto& [key, span] : cycle_spans_) {
    span.set_status(tracing::StatusCode::kError, "not back before the session ended");
  }
  cycle_spans_.clear();  // ends them
  duration_timer_.cancel();
  drain_timer_.cancel();
  progress_timer_.cancel();
  resend_timer_.cancel();
  finishing_ = true;
  m_.lost->inc(static_cast<std::uint64_t>(summary.lost));
  if (summary.lost > 0) {
    spdlog::warn("session {}: {} message(s) given up ({}; drain timeout {} ms)", summary.session_id, summary.lost,
                 common::to_string(config_.kafka.delivery), config_.interaction.drain_timeout_ms);
  }
  record_finish(summary);
}

void Ms1Service::record_finish(const SessionSummary& summary) {
  // Queued behind every row of the session: once this completes, the rows are in the database.
  writer_->finish_session(summary, [this, summary](const std::string& error) {
    if (!error.empty() && !shutting_down_ && !writer_->connected()) {
      spdlog::warn("session {} not recorded yet ({}); retrying when the database is back", summary.session_id, error);
      finish_retry_timer_.expires_after(std::chrono::seconds(1));
      finish_retry_timer_.async_wait([this, summary](boost::system::error_code ec) {
        if (!ec) return record_finish(summary);
        // Shutdown cancelled the wait: the row stays open and the next start marks it interrupted.
        if (shutting_down_) complete_shutdown();
      });
      return;
    }
    if (!error.empty()) spdlog::error("session {} could not be recorded: {}", summary.session_id, error);
    finishing_ = false;
    last_summary_ = summary;
    if (error.empty()) m_.sessions->inc();
    common::announce(fmt::format("interaction finished: session_id={} elapsed={:.3f}s messages={} stored={} reason={}",
                                 summary.session_id, seconds(summary.elapsed), summary.sent, summary.stored,
                                 to_string(summary.reason)));
    const auto body = json::serialize(summary_json(summary));
    for (auto& waiter : std::exchange(stop_waiters_, {})) waiter(json_response(http::status::ok, body));
    if (shutting_down_) complete_shutdown();
  });
}

void Ms1Service::on_link_up() { controller_.on_link_up(SteadyClock::now()); }

void Ms1Service::on_link_down() {
  if (controller_.state() == SessionState::kIdle) return;
  const auto in_flight = controller_.status(SteadyClock::now()).in_flight;
  if (config_.kafka.delivery == common::Delivery::kAtMostOnce) {
    spdlog::warn("MS2 link dropped during the session; {} message(s) in flight given up (at-most-once)", in_flight);
  } else {
    spdlog::warn("MS2 link dropped during the session; {} message(s) in flight will be resent on reconnect", in_flight);
  }
  controller_.on_link_down(SteadyClock::now());
}

void Ms1Service::begin_shutdown() {
  if (shutting_down_) {
    complete_shutdown();  // a second signal: stop waiting for the drain
    return;
  }
  shutting_down_ = true;
  listener_->stop();
  finish_retry_timer_.cancel();
  if (controller_.state() == SessionState::kRunning) {
    controller_.stop(StopReason::kShutdown, SteadyClock::now());
    after_stop();
  } else if (controller_.state() == SessionState::kIdle && !finishing_ && !starting_) {
    complete_shutdown();
  }
  // Otherwise finished() completes the shutdown once the session is recorded.
}

void Ms1Service::complete_shutdown() {
  resend_timer_.cancel();
  finish_retry_timer_.cancel();
  duration_timer_.cancel();
  drain_timer_.cancel();
  progress_timer_.cancel();
  signals_.cancel();
  listener_->stop();
  ws_->stop();
  writer_->stop();  // runs what is queued; its completions are dropped with the loop below
  ioc_.stop();
}

}  // namespace ringtrace::ms1
