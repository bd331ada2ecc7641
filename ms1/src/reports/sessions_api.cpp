#include "ringtrace/ms1/reports/sessions_api.hpp"

#include <array>
#include <cstdint>
#include <limits>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/common/http_target.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
using common::IntParam;
using common::parse_int_in;
using common::path_of;
using common::path_tail;
using common::read_int_params;
using common::error_json;
using common::json_response;

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();
constexpr std::array kLegs = {Leg::kMs1ToMs2, Leg::kMs2ToMs3, Leg::kMs3ToMs1, Leg::kCycle};

/// The report JSON is written by hand: Boost.JSON prints doubles in exponent form, and a
/// latency must read as the milliseconds it is (1.234, not 1.2340000000000001E0).
std::string quoted(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

template <typename T>
std::string or_null(const std::optional<T>& value) {
  return value ? fmt::format("{}", *value) : "null";
}

void append_session(std::string& out, const SessionRow& s) {
  fmt::format_to(std::back_inserter(out),
                 R"({{"session_id":{},"started_at":"{}","finished_at":{},"duration_seconds":{},"window_size":{},)"
                 R"("naming":{},"reason":{},"sent":{},"stored":{},"lost":{},"resent":{},"elapsed_seconds":{}}})",
                 s.session_id, common::format_timestamp(s.started_at),
                 s.finished_at ? quoted(common::format_timestamp(*s.finished_at)) : "null", s.duration_seconds,
                 s.window_size, quoted(s.naming), s.reason ? quoted(*s.reason) : "null", or_null(s.sent),
                 or_null(s.stored), or_null(s.lost), or_null(s.resent), or_null(s.elapsed_seconds));
}

void append_leg(std::string& out, Leg leg, const LegStats& stats) {
  const auto ms = [&](std::int64_t us) { return stats.count > 0 ? ms_text(us) : std::string("null"); };
  fmt::format_to(std::back_inserter(out),
                 R"({{"leg":"{}","count":{},"min_ms":{},"p50_ms":{},"p90_ms":{},"p99_ms":{},"max_ms":{},"buckets":[)",
                 to_string(leg), stats.count, ms(stats.min_us), ms(stats.p50_us), ms(stats.p90_us), ms(stats.p99_us),
                 ms(stats.max_us));
  const char* sep = "";
  for (const auto& bucket : stats.buckets) {
    fmt::format_to(std::back_inserter(out), R"({}{{"lower_ms":{},"upper_ms":{},"count":{}}})", sep,
                   bucket_lower_ms(bucket.index), bucket_upper_ms(bucket.index), bucket.count);
    sep = ",";
  }
  out += "]}";
}

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

std::string ms_text(std::int64_t us) {
  const auto magnitude = us < 0 ? -static_cast<std::uint64_t>(us) : static_cast<std::uint64_t>(us);
  return fmt::format("{}{}.{:03}", us < 0 ? "-" : "", magnitude / 1000, magnitude % 1000);
}

std::string sessions_json(const std::vector<SessionRow>& rows, bool more) {
  std::string out = R"({"sessions":[)";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += ',';
    append_session(out, rows[i]);
  }
  out += R"(],"next_before":)";
  out += more && !rows.empty() ? std::to_string(rows.back().session_id) : "null";
  out += '}';
  return out;
}

std::string report_json(const SessionReport& report) {
  std::string out = R"({"session":)";
  append_session(out, report.session);
  out += R"(,"legs":[)";
  for (const auto leg : kLegs) {
    if (leg != kLegs.front()) out += ',';
    append_leg(out, leg, report.legs[static_cast<std::size_t>(leg)]);
  }
  const double width = report.bucket_seconds > 0 ? report.bucket_seconds : 1;
  fmt::format_to(std::back_inserter(out), R"(],"throughput":{{"bucket_seconds":{},"points":[)", report.bucket_seconds);
  const char* sep = "";
  for (const auto& point : report.throughput) {
    fmt::format_to(std::back_inserter(out), R"({}{{"t_seconds":{},"messages":{},"per_second":{}}})", sep,
                   point.t_seconds, point.messages, static_cast<double>(point.messages) / width);
    sep = ",";
  }
  out += R"(]},"slowest":[)";
  sep = "";
  for (const auto& m : report.slowest) {
    const auto leg = [&](Leg l) { return ms_text(m.legs_us[static_cast<std::size_t>(l)]); };
    fmt::format_to(std::back_inserter(out),
                   R"({}{{"id":{},"trace_id":{},"cycle_ms":{},"ms1_to_ms2_ms":{},"ms2_to_ms3_ms":{},"ms3_to_ms1_ms":{}}})",
                   sep, m.id, m.trace_id.empty() ? "null" : quoted(m.trace_id), leg(Leg::kCycle), leg(Leg::kMs1ToMs2),
                   leg(Leg::kMs2ToMs3), leg(Leg::kMs3ToMs1));
    sep = ",";
  }
  out += "]}";
  return out;
}

std::string latency_line(const SessionReport& report) {
  std::string out = fmt::format("interaction latency: session_id={}", report.session.session_id);
  for (const auto leg : kLegs) {
    const auto& stats = report.legs[static_cast<std::size_t>(leg)];
    const auto value = [&](std::int64_t us) { return stats.count > 0 ? ms_text(us) : std::string("n/a"); };
    fmt::format_to(std::back_inserter(out), " {0}_p50_ms={1} {0}_p99_ms={2}", to_string(leg), value(stats.p50_us),
                   value(stats.p99_us));
  }
  return out;
}

void SessionsApi::handle(common::HttpRequest&& request, common::Responder respond) {
  const std::string_view target = request.target();
  if (path_of(target) == "/sessions") {
    std::array params{IntParam{"limit", 1, 100, {}}, IntParam{"before", 1, kMaxId, {}}};
    if (auto error = read_int_params(target, params)) return respond(error_json(http::status::bad_request, *error));
    const int limit = static_cast<int>(params[0].value.value_or(20));
    // One more than asked for tells whether another page follows.
    return reports_.list_sessions(params[1].value, limit + 1, [limit, respond](ReportResult<std::vector<SessionRow>> r) {
      if (r.outcome != ReportOutcome::kOk) return respond(failure(r.outcome, r.error));
      const bool more = static_cast<int>(r.value.size()) > limit;
      if (more) r.value.resize(static_cast<std::size_t>(limit));
      respond(json_response(http::status::ok, sessions_json(r.value, more)));
    });
  }
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
