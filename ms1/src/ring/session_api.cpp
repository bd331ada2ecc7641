#include "ringtrace/ms1/ring/session_api.hpp"

#include <array>
#include <memory>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/http_target.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
using common::IntParam;
using common::read_int_params;
namespace json = boost::json;
using common::error_json;
using common::json_response;

namespace {

constexpr std::int64_t kMaxStartSeconds = 86400;
constexpr std::int64_t kMaxWindow = 65536;

/// Whole milliseconds, for JSON (Boost.JSON writes doubles in exponent form).
std::int64_t millis(SteadyClock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
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

SessionApi::SessionApi(SessionRunner& runner, const Ms2Link& link, const StoreWriter& writer, std::string ms2_url)
    : runner_(runner), link_(link), writer_(writer), ms2_url_(std::move(ms2_url)) {}

void SessionApi::start(std::string_view target, common::Responder respond) {
  // The same ranges as the configuration's interaction.window; a day at most from a browser.
  std::array params{IntParam{"duration_seconds", 1, kMaxStartSeconds, {}}, IntParam{"window", 1, kMaxWindow, {}}};
  if (auto error = read_int_params(target, params)) return respond(error_json(http::status::bad_request, *error));
  auto settings = runner_.settings();
  if (params[0].value) settings.duration_seconds = static_cast<int>(*params[0].value);
  if (params[1].value) settings.window = static_cast<int>(*params[1].value);
  // The runner decides whether a session may start; the answer to a refusal is said here.
  auto answer = std::make_shared<common::Responder>(std::move(respond));
  const auto refusal = runner_.start(settings, [this, answer](std::optional<std::int64_t> id, const std::string& error) {
    const auto& respond = *answer;
    if (!id) {
      spdlog::error("cannot start a session: {}", error);
      return respond(error_json(http::status::service_unavailable, "cannot record the session: " + error));
    }
    if (runner_.shutting_down()) {
      return respond(error_json(http::status::service_unavailable, "MS1 is shutting down"));
    }
    const auto& settings = runner_.session_settings();
    json::object body{{"session_id", *id},
                      {"state", "running"},
                      {"duration_seconds", settings.duration_seconds},
                      {"window", settings.window}};
    respond(json_response(http::status::ok, json::serialize(body)));
  });
  if (refusal) (*answer)(refused(*refusal));
}

common::HttpResponse SessionApi::refused(StartRefusal refusal) const {
  switch (refusal) {
    case StartRefusal::kShuttingDown: break;
    case StartRefusal::kBusy: {
      const auto& controller = runner_.controller();
      json::object body{{"error", "a session is already running"},
                        {"session_id", controller.status(SteadyClock::now()).session_id},
                        {"state", to_string(controller.state())}};
      return json_response(http::status::conflict, json::serialize(body));
    }
    case StartRefusal::kMs2Unreachable:
      return error_json(http::status::service_unavailable, "MS2 is not reachable at " + ms2_url_ + " (reconnecting)");
    case StartRefusal::kDatabaseUnreachable:
      return error_json(http::status::service_unavailable, "the database is not reachable (reconnecting)");
  }
  return error_json(http::status::service_unavailable, "MS1 is shutting down");
}

void SessionApi::stop(common::Responder respond) {
  const auto state = runner_.controller().state();
  const bool stopping = runner_.stop([respond](const SessionSummary& summary) {
    respond(json_response(http::status::ok, json::serialize(summary_json(summary))));
  });
  if (stopping) return;
  respond(error_json(http::status::conflict, state == SessionState::kStarting ? "the session is still starting; retry"
                                                                              : "no session is running"));
}

common::HttpResponse SessionApi::status() const {
  const auto status = runner_.controller().status(SteadyClock::now());
  json::object body{{"state", to_string(status.state)},
                    {"session_id", status.session_id},
                    {"sent", status.sent},
                    {"stored", status.stored},
                    {"in_flight", status.in_flight},
                    {"lost", status.lost},
                    {"resent", status.resent},
                    {"elapsed_ms", millis(status.elapsed)},
                    {"duration_seconds", runner_.session_settings().duration_seconds},
                    {"window", runner_.session_settings().window},
                    {"ms2_connected", link_.connected()},
                    {"database_connected", writer_.connected()}};
  const auto& last = runner_.last_summary();
  body["last_session"] = last ? json::value(summary_json(*last)) : json::value(nullptr);
  return json_response(http::status::ok, json::serialize(body));
}

}  // namespace ringtrace::ms1
