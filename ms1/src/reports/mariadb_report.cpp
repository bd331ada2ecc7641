#include "ringtrace/ms1/reports/mariadb_report.hpp"

#include <mysqld_error.h>

#include <charconv>
#include <cstring>
#include <utility>

#include "report_sql.hpp"
#include "ringtrace/ms1/reports/clock_correction.hpp"
#include "ringtrace/ms1/db/errors.hpp"
#include "ringtrace/ms1/db/mariadb.hpp"

namespace ringtrace::ms1 {

namespace {

/// Exact microseconds between two DATETIME(6) values.
std::string micros(const std::string& a, const std::string& b) {
  return "TIMESTAMPDIFF(MICROSECOND, " + a + ", " + b + ")";
}

std::string epoch_us(const std::string& column) { return micros("'1970-01-01 00:00:00'", column); }

const std::string kSessionColumns = "session_id, " + epoch_us("started_at") + ", " + epoch_us("finished_at") +
                                    ", duration_seconds, window_size, naming, reason, sent, stored, lost, resent,"
                                    " elapsed_seconds";

std::int64_t to_int(const char* text) {
  std::int64_t value = 0;
  if (text != nullptr) std::from_chars(text, text + std::strlen(text), value);
  return value;
}
std::optional<std::int64_t> opt_int(const char* text) {
  return text == nullptr ? std::nullopt : std::optional(to_int(text));
}

SessionRow session_row(MYSQL_ROW r) {
  SessionRow s;
  s.session_id = to_int(r[0]);
  s.started_at = common::Timestamp{std::chrono::microseconds(to_int(r[1]))};
  if (r[2] != nullptr) s.finished_at = common::Timestamp{std::chrono::microseconds(to_int(r[2]))};
  s.duration_seconds = static_cast<int>(to_int(r[3]));
  s.window_size = static_cast<int>(to_int(r[4]));
  s.naming = r[5] != nullptr ? r[5] : "";
  if (r[6] != nullptr) s.reason = r[6];
  s.sent = opt_int(r[7]);
  s.stored = opt_int(r[8]);
  s.lost = opt_int(r[9]);
  s.resent = opt_int(r[10]);
  if (r[11] != nullptr) s.elapsed_seconds = std::stod(r[11]);
  return s;
}

/// The bucket of `x` by binary search over the integer bounds lower[lo..hi] (bucket lo when x is
/// below lower[lo+1]): at most eight integer comparisons a value, no logarithm, so exactly bucket_index().
std::string bucket_case(const std::string& x, int lo, int hi) {
  if (lo == hi) return std::to_string(lo);
  const int mid = (lo + hi + 1) / 2;
  return "CASE WHEN " + x + " < " + std::to_string(detail::bucket_lower_us()[static_cast<std::size_t>(mid)]) +
         " THEN " + bucket_case(x, lo, mid - 1) + " ELSE " + bucket_case(x, mid, hi) + " END";
}

}  // namespace

MariaDbReport::MariaDbReport(common::DatabaseConfig config, common::Naming naming, std::int64_t max_distinct)
    : config_(std::move(config)), naming_(naming), max_distinct_(max_distinct) {
}

MariaDbReport::~MariaDbReport() { disconnect(); }

void MariaDbReport::disconnect() {
  if (conn_ != nullptr) {
    mysql_close(conn_);
    conn_ = nullptr;
  }
}

void MariaDbReport::connect() {
  disconnect();
  conn_ = connect_mariadb(config_);
  // Read-only, and bounded: a report never holds a lock or the server for long.
  query("SET SESSION TRANSACTION READ ONLY", "configuring the report connection");
  query("SET SESSION max_statement_time = 10, SESSION sort_buffer_size = 67108864", "configuring the report connection");
}

MariaDbReport::Result MariaDbReport::query(const std::string& sql, const char* what, bool* absent) {
  if (conn_ == nullptr) throw StoreUnavailable(std::string(what) + ": not connected");
  if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) {
    const unsigned error = mysql_errno(conn_);
    if (error == ER_NO_SUCH_TABLE && absent != nullptr) {
      *absent = true;
      return nullptr;
    }
    const std::string text = std::string(what) + ": " + mysql_error(conn_) + " (error " + std::to_string(error) + ")";
    if (mariadb_connection_lost(error)) {
      disconnect();
      throw StoreUnavailable(text);
    }
    throw StoreError(text);
  }
  Result result(mysql_store_result(conn_));
  if (!result && mysql_field_count(conn_) != 0) {
    const std::string text = std::string(what) + ": " + mysql_error(conn_);
    disconnect();
    throw StoreUnavailable(text);
  }
  return result;
}

std::vector<SessionRow> MariaDbReport::list_sessions(std::optional<std::int64_t> before, int limit) {
  std::string sql = "SELECT " + kSessionColumns + " FROM sessions";
  if (before) sql += " WHERE session_id < " + std::to_string(*before);
  sql += " ORDER BY session_id DESC LIMIT " + std::to_string(std::max(limit, 0));
  bool absent = false;
  auto result = query(sql, "listing sessions", &absent);
  std::vector<SessionRow> rows;
  if (!result) return rows;
  while (MYSQL_ROW row = mysql_fetch_row(result.get())) rows.push_back(session_row(row));
  return rows;
}

void MariaDbReport::leg_stats(Leg leg, const std::string& session_id, const std::optional<LegShift>& shift,
                              SessionReport& report) {
  const auto [from, to] = leg_stamps(leg);
  const auto a = mariadb_identifier(common::field_name(naming_, from));
  const auto b = mariadb_identifier(common::field_name(naming_, to));
  const auto us = micros(a, b);
  const auto where = " FROM messages WHERE session_id = " + session_id + " AND " + a + " IS NOT NULL AND " + b + " IS NOT NULL";
  const auto i = static_cast<std::size_t>(leg);
  if (auto counts = read_leg_value_counts(us, where)) {
    report.legs[i] = detail::stats_from_counts(*counts);
    if (shift) report.corrected[i] = corrected_from_counts(*counts, *shift);
    return;
  }
  // Corrected percentiles are the raw ones shifted; only the histogram needs the shifted values.
  std::vector<Bucket> shifted;
  report.legs[i] = read_ranked_leg(us, where, shift, shifted);
  if (shift) report.corrected[i] = corrected_from_stats(report.legs[i], *shift, std::move(shifted));
}

std::optional<std::map<std::int64_t, std::int64_t>> MariaDbReport::read_leg_value_counts(const std::string& us,
                                                                                         const std::string& where) {
  bool absent = false;
  // Usually a leg has a few thousand distinct microsecond values: their counts give every figure
  // exactly in one grouped scan, with no sort of the rows.
  auto result = query("SELECT us, COUNT(*) FROM (SELECT " + us + " AS us" + where + ") t GROUP BY us LIMIT " +
                          std::to_string(max_distinct_ + 1),
                      "reading latencies", &absent);
  std::map<std::int64_t, std::int64_t> counts;
  if (!result) return counts;
  if (static_cast<std::int64_t>(mysql_num_rows(result.get())) > max_distinct_) return std::nullopt;
  while (MYSQL_ROW row = mysql_fetch_row(result.get())) counts[to_int(row[0])] = to_int(row[1]);
  return counts;
}

LegStats MariaDbReport::read_ranked_leg(const std::string& us, const std::string& where,
                                        const std::optional<LegShift>& shift, std::vector<Bucket>& shifted) {
  // Too many distinct values to ship: the server ranks and buckets them itself.
  LegStats s;
  auto result = query("SELECT COUNT(*), MIN(" + us + "), MAX(" + us + ")" + where, "reading latencies");
  if (MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr) {
    s.count = to_int(row[0]);
    s.min_us = to_int(row[1]);
    s.max_us = to_int(row[2]);
  }
  if (s.count == 0) return s;
  // Nearest ranks with integer arithmetic (no floating cume_dist to compare with p).
  std::string ranks;
  for (const int p : detail::kPercentiles) {
    ranks += std::string(ranks.empty() ? "" : " OR ") + "rn = (n * " + std::to_string(p) + " + 99) DIV 100";
  }
  result = query("SELECT n, rn, us FROM (SELECT us, ROW_NUMBER() OVER (ORDER BY us) AS rn, COUNT(*) OVER () AS n FROM"
                 " (SELECT " + us + " AS us" + where + ") t) r WHERE " + ranks,
                 "reading percentiles");
  while (MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr) {
    const auto n = to_int(row[0]);
    const auto rn = to_int(row[1]);
    const auto value = to_int(row[2]);
    if (rn == detail::nearest_rank(n, 50, 100)) s.p50_us = value;
    if (rn == detail::nearest_rank(n, 90, 100)) s.p90_us = value;
    if (rn == detail::nearest_rank(n, 99, 100)) s.p99_us = value;
  }
  // Both histograms in one scan: (raw bucket, shifted bucket) pairs, summed per side here.
  const auto moved = shift ? "(" + us + " - (" + std::to_string(shift->shift_us) + "))" : std::string();
  result = query("SELECT " + bucket_case(us, 0, detail::kBucketCount - 1) + " AS b, " +
                     (shift ? bucket_case(moved, 0, detail::kBucketCount - 1) : std::string("0")) + " AS c, COUNT(*)" +
                     where + " GROUP BY b, c",
                 "reading histograms");
  std::map<int, std::int64_t> raw;
  std::map<int, std::int64_t> corrected;
  while (MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr) {
    raw[static_cast<int>(to_int(row[0]))] += to_int(row[2]);
    corrected[static_cast<int>(to_int(row[1]))] += to_int(row[2]);
  }
  s.buckets = detail::dense_buckets(raw);
  if (shift) shifted = detail::dense_buckets(corrected);
  return s;
}

std::int64_t MariaDbReport::stored_rows(std::int64_t session_id) {
  bool absent = false;
  auto result = query("SELECT COUNT(*) FROM messages WHERE session_id = " + std::to_string(session_id), "counting rows",
                      &absent);
  MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr;
  return row != nullptr ? to_int(row[0]) : 0;
}

std::optional<SessionReport> MariaDbReport::session_report(std::int64_t session_id, int slowest) {
  const std::string id = std::to_string(session_id);
  query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "starting a report");
  struct End {
    MariaDbReport* self;
    ~End() {
      if (self->conn_ != nullptr) mysql_commit(self->conn_);
    }
  } end{this};

  auto session = read_session(id);
  if (!session) return std::nullopt;
  SessionReport report;
  report.session = std::move(*session);
  report.bucket_seconds = throughput_bucket_seconds(report.session);
  report.clocks = read_clocks(id, report.session.naming);
  const auto shifts = leg_shifts(report.clocks);
  for (std::size_t leg = 0; leg < kLegCount; ++leg) leg_stats(static_cast<Leg>(leg), id, shifts[leg], report);
  report.throughput = read_throughput(id, report.session.started_at, report.bucket_seconds);
  report.slowest = read_slowest(id, slowest, shifts);
  return report;
}

SessionClocks MariaDbReport::read_clocks(const std::string& id, const std::string& naming) {
  SessionClocks clocks;
  bool absent = false;  // a schema older than the table: no estimates
  auto result = query("SELECT stamp, offset_us, uncertainty_us, samples, " + epoch_us("measured_at") +
                          " FROM clock_offsets WHERE session_id = " + id,
                      "reading clock offsets", &absent);
  while (MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr) {
    ClockRecord record;
    record.offset_us = to_int(row[1]);
    record.uncertainty_us = to_int(row[2]);
    record.samples = to_int(row[3]);
    record.measured_at = common::Timestamp{std::chrono::microseconds(to_int(row[4]))};
    keep_clock(clocks, row[0] != nullptr ? row[0] : "", record, naming);
  }
  return clocks;
}

std::optional<SessionRow> MariaDbReport::read_session(const std::string& id) {
  bool absent = false;
  auto result =
      query("SELECT " + kSessionColumns + " FROM sessions WHERE session_id = " + id, "reading a session", &absent);
  MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr;
  if (row == nullptr) return std::nullopt;
  return session_row(row);
}

std::vector<ThroughputPoint> MariaDbReport::read_throughput(const std::string& id, common::Timestamp started_at,
                                                            int bucket_seconds) {
  // Messages by the slice their end stamp falls in (before the start counts in 0).
  const auto end_stamp = mariadb_identifier(common::field_name(naming_, common::Hop::kEnd));
  const std::string width = std::to_string(static_cast<std::int64_t>(bucket_seconds) * 1000000);
  bool absent = false;
  auto result = query("SELECT GREATEST(0, (" + epoch_us(end_stamp) + " - " +
                          std::to_string(started_at.time_since_epoch().count()) + ") DIV " + width +
                          ") AS slice, COUNT(*) FROM messages WHERE session_id = " + id + " AND " + end_stamp +
                          " IS NOT NULL GROUP BY slice",
                      "reading throughput", &absent);
  std::map<std::int64_t, std::int64_t> slices;
  while (MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr) slices[to_int(row[0])] = to_int(row[1]);
  return detail::dense_throughput(slices, bucket_seconds);
}

std::vector<SlowMessage> MariaDbReport::read_slowest(const std::string& id, int slowest,
                                                    const std::array<std::optional<LegShift>, kLegCount>& shifts) {
  // The slowest by cycle; a leg whose stamps are missing reads 0.
  bool absent = false;
  auto result = query(detail::latencies_sql(naming_, mariadb_identifier, micros) + id +
                          " HAVING l3 IS NOT NULL ORDER BY l3 DESC, id LIMIT " + std::to_string(std::max(slowest, 0)),
                      "reading the slowest messages", &absent);
  std::vector<SlowMessage> messages;
  while (MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr) {
    SlowMessage m;
    m.id = to_int(row[0]);
    if (row[1] != nullptr) m.trace_id = row[1];
    for (std::size_t leg = 0; leg < kLegCount; ++leg) {
      const auto raw = opt_int(row[2 + leg]);
      m.legs_us[leg] = raw.value_or(0);
      m.corrected_us[leg] = corrected_value(raw, shifts[leg]);
    }
    messages.push_back(std::move(m));
  }
  return messages;
}

}  // namespace ringtrace::ms1
