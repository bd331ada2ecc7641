#include "ringtrace/ms1/reports/report_json.hpp"

#include <algorithm>
#include <cstdint>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms1/reports/clock_correction.hpp"

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

/// `"min_ms":…,"p50_ms":…,"p90_ms":…,"p99_ms":…,"max_ms":…` (null without rows).
void append_figures(std::string& out, const LegStats& stats) {
  const auto ms = [&](std::int64_t us) { return stats.count > 0 ? ms_text(us) : std::string("null"); };
  fmt::format_to(std::back_inserter(out), R"("min_ms":{},"p50_ms":{},"p90_ms":{},"p99_ms":{},"max_ms":{})",
                 ms(stats.min_us), ms(stats.p50_us), ms(stats.p90_us), ms(stats.p99_us), ms(stats.max_us));
}

/// `"buckets":[…]`.
void append_buckets(std::string& out, const std::vector<Bucket>& buckets) {
  out += R"("buckets":[)";
  const char* sep = "";
  for (const auto& bucket : buckets) {
    fmt::format_to(std::back_inserter(out), R"({}{{"lower_ms":{},"upper_ms":{},"count":{}}})", sep,
                   bucket_lower_ms(bucket.index), bucket_upper_ms(bucket.index), bucket.count);
    sep = ",";
  }
  out += ']';
}

void append_leg(std::string& out, Leg leg, const LegStats& stats, const std::optional<CorrectedLeg>& corrected) {
  fmt::format_to(std::back_inserter(out), R"({{"leg":"{}","count":{},)", to_string(leg), stats.count);
  append_figures(out, stats);
  out += ',';
  append_buckets(out, stats.buckets);
  out += R"(,"corrected":)";
  if (corrected) {
    out += '{';
    append_figures(out, corrected->stats);
    fmt::format_to(std::back_inserter(out), R"(,"uncertainty_ms":{},"below_uncertainty":{},)",
                   ms_text(corrected->uncertainty_us), corrected->below_uncertainty);
    append_buckets(out, corrected->stats.buckets);
    out += '}';
  } else {
    out += "null";
  }
  out += '}';
}

/// `"clocks":[…]`: the stored estimates, MS2's first; the stamp is spelled in the session's naming.
void append_clocks(std::string& out, const SessionReport& report) {
  const auto naming = common::parse_naming(report.session.naming).value_or(common::Naming::kService);
  out += R"("clocks":[)";
  const char* sep = "";
  for (const auto& clock : report.clocks) {
    if (!clock) continue;
    fmt::format_to(std::back_inserter(out),
                   R"({}{{"clock":"{}","stamp":"{}","offset_ms":{},"uncertainty_ms":{},"samples":{},"measured_at":"{}"}})",
                   sep, clock->clock == common::Hop::kMs2 ? "ms2" : "ms3", common::field_name(naming, clock->clock),
                   ms_text(clock->offset_us), ms_text(clock->uncertainty_us), clock->samples,
                   common::format_timestamp(clock->measured_at));
    sep = ",";
  }
  out += ']';
}

/// A slow message's `"corrected":{…}` (each leg, null where it has none, and the legs at or
/// below their uncertainty), or null when the session has no clock estimate.
void append_slow_corrected(std::string& out, const SessionReport& report, const SlowMessage& m) {
  out += R"(,"corrected":)";
  if (std::none_of(report.corrected.begin(), report.corrected.end(), [](const auto& c) { return c.has_value(); })) {
    out += "null";
    return;
  }
  const auto leg = [&](Leg l) {
    const auto& v = m.corrected_us[static_cast<std::size_t>(l)];
    return v ? ms_text(*v) : std::string("null");
  };
  fmt::format_to(std::back_inserter(out),
                 R"({{"cycle_ms":{},"ms1_to_ms2_ms":{},"ms2_to_ms3_ms":{},"ms3_to_ms1_ms":{},"below_uncertainty":[)",
                 leg(Leg::kCycle), leg(Leg::kMs1ToMs2), leg(Leg::kMs2ToMs3), leg(Leg::kMs3ToMs1));
  const char* sep = "";
  for (const auto l : kLegs) {
    const auto i = static_cast<std::size_t>(l);
    const auto& corrected = report.corrected[i];
    if (m.corrected_us[i] && corrected && below_uncertainty(*m.corrected_us[i], corrected->uncertainty_us)) {
      fmt::format_to(std::back_inserter(out), R"({}"{}")", sep, to_string(l));
      sep = ",";
    }
  }
  out += "]}";
}

/// The latency line's corrected keys after the raw ones, each key distinct (scripts take the first
/// match): `<leg>_corrected_p50_ms=… <leg>_uncertainty_ms=…` per leg (n/a where a leg has no
/// correction or no rows) and `below_uncertainty=<legs>|none`; `corrected=n/a` when the session
/// has no clock estimate.
void append_corrected_keys(std::string& out, const SessionReport& report) {
  if (std::none_of(report.corrected.begin(), report.corrected.end(), [](const auto& c) { return c.has_value(); })) {
    out += " corrected=n/a";
    return;
  }
  std::string below;
  for (const auto leg : kLegs) {
    const auto& corrected = report.corrected[static_cast<std::size_t>(leg)];
    const bool rows = corrected && corrected->stats.count > 0;
    fmt::format_to(std::back_inserter(out), " {0}_corrected_p50_ms={1} {0}_uncertainty_ms={2}", to_string(leg),
                   rows ? ms_text(corrected->stats.p50_us) : "n/a",
                   corrected ? ms_text(corrected->uncertainty_us) : "n/a");
    if (corrected && corrected->below_uncertainty) below += (below.empty() ? "" : ",") + std::string(to_string(leg));
  }
  out += " below_uncertainty=" + (below.empty() ? std::string("none") : below);
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
  out += ',';
  append_clocks(out, report);
  out += R"(,"legs":[)";
  for (const auto leg : kLegs) {
    if (leg != kLegs.front()) out += ',';
    append_leg(out, leg, report.legs[static_cast<std::size_t>(leg)], report.corrected[static_cast<std::size_t>(leg)]);
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
                   R"({}{{"id":{},"trace_id":{},"cycle_ms":{},"ms1_to_ms2_ms":{},"ms2_to_ms3_ms":{},"ms3_to_ms1_ms":{})",
                   sep, m.id, m.trace_id.empty() ? "null" : json_quoted(m.trace_id), leg(Leg::kCycle), leg(Leg::kMs1ToMs2),
                   leg(Leg::kMs2ToMs3), leg(Leg::kMs3ToMs1));
    append_slow_corrected(out, report, m);
    out += '}';
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
  append_corrected_keys(out, report);
  return out;
}

}  // namespace ringtrace::ms1
