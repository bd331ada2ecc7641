#include "ringtrace/ms1/reports/report_json.hpp"

#include <cstdint>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms1 {

namespace {


/// The report JSON is written by hand: Boost.JSON prints doubles in exponent form, and a
/// latency must read as the milliseconds it is (1.234, not 1.2340000000000001E0).
std::string json_quoted(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

template <typename T>
std::string or_null(const std::optional<T>& value) {
  return value ? fmt::format("{}", *value) : "null";
}

void append_session(std::string& out, const SessionRow& s) {
  fmt::format_to(std::back_inserter(out),
                 R"({{"session_id":{},"started_at":"{}","finished_at":{},"duration_seconds":{},"window_size":{},)"
                 R"("naming":{},"reason":{},"sent":{},"stored":{},"lost":{},"resent":{},"elapsed_seconds":{}}})",
                 s.session_id, common::format_timestamp(s.started_at),
                 s.finished_at ? json_quoted(common::format_timestamp(*s.finished_at)) : "null", s.duration_seconds,
                 s.window_size, json_quoted(s.naming), s.reason ? json_quoted(*s.reason) : "null", or_null(s.sent),
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
                   sep, m.id, m.trace_id.empty() ? "null" : json_quoted(m.trace_id), leg(Leg::kCycle), leg(Leg::kMs1ToMs2),
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

}  // namespace ringtrace::ms1
