#include "ringtrace/ms1/reports/sessions_api.hpp"

#include <array>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "ringtrace/common/http_target.hpp"
#include "ringtrace/ms1/reports/report_json.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
using common::error_json;
using common::IntParam;
using common::json_response;
using common::parse_int_in;
using common::path_tail;
using common::read_int_params;

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

/// Maps a report job's failure to its answer; 503s say when to come back.
common::HttpResponse failure(ReportOutcome outcome, const std::string& error) {
  switch (outcome) {
    case ReportOutcome::kNotFound: return error_json(http::status::not_found, error);
    case ReportOutcome::kUnavailable:
    case ReportOutcome::kOverloaded: {
      auto response = error_json(http::status::service_unavailable, error);
      response.set(http::field::retry_after, "1");
      return response;
    }
    case ReportOutcome::kOk:
    case ReportOutcome::kFailed: break;
  }
  return error_json(http::status::internal_server_error, "the report failed: " + error);
}

}  // namespace

void SessionsApi::list(std::string_view target, common::Responder respond) {
  std::array params{IntParam{"limit", 1, 100, {}}, IntParam{"before", 1, kMaxId, {}}};
  if (auto error = read_int_params(target, params)) return respond(error_json(http::status::bad_request, *error));
  const int limit = static_cast<int>(params[0].value.value_or(20));
  // One more than asked for tells whether another page follows.
  reports_.list_sessions(params[1].value, limit + 1, [limit, respond](ReportResult<std::vector<SessionRow>> r) {
    if (r.outcome != ReportOutcome::kOk) return respond(failure(r.outcome, r.error));
    const bool more = static_cast<int>(r.value.size()) > limit;
    if (more) r.value.resize(static_cast<std::size_t>(limit));
    respond(json_response(http::status::ok, sessions_json(r.value, more)));
  });
}

void SessionsApi::report(std::string_view target, common::Responder respond) {
  const auto tail = path_tail(target, "/sessions/").value_or("");
  const auto id = parse_int_in(tail, 1, kMaxId);
  if (!id) {
    return respond(error_json(http::status::bad_request,
                              fmt::format("session id: expected an integer >= 1, got '{}'", tail)));
  }
  if (auto error = read_int_params(target, {})) return respond(error_json(http::status::bad_request, *error));
  reports_.session_report(*id, kSlowestMessages, [respond](ReportResult<SessionReport> r) {
    if (r.outcome != ReportOutcome::kOk) return respond(failure(r.outcome, r.error));
    respond(json_response(http::status::ok, report_json(r.value)));
  });
}

}  // namespace ringtrace::ms1
