#include "ringtrace/ms1/reports/postgres_report.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "report_sql.hpp"
#include "ringtrace/ms1/db/errors.hpp"
#include "ringtrace/ms1/reports/clock_correction.hpp"

namespace ringtrace::ms1 {

namespace {

/// Exact microseconds from `a` to `b`: EXTRACT(EPOCH FROM interval) is numeric (exact) since
/// PostgreSQL 14, so nothing goes through a double; NULL when either stamp is.
std::string micros(const std::string& a, const std::string& b) {
  return "(EXTRACT(EPOCH FROM (" + b + " - " + a + ")) * 1000000)::bigint";
}

/// Microseconds since the epoch of a timestamptz (exact, as above).
std::string epoch_us(const std::string& column) { return "(EXTRACT(EPOCH FROM " + column + ") * 1000000)::bigint"; }

const char* kSessionColumns =
    "session_id, (EXTRACT(EPOCH FROM started_at) * 1000000)::bigint,"
    " (EXTRACT(EPOCH FROM finished_at) * 1000000)::bigint, duration_seconds, window_size, naming, reason,"
    " sent, stored, lost, resent, elapsed_seconds";

std::int64_t to_int(const char* text) {
  std::int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

bool null(PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }
std::int64_t int_at(PGresult* r, int row, int col) { return to_int(PQgetvalue(r, row, col)); }
std::optional<std::int64_t> opt_int(PGresult* r, int row, int col) {
  return null(r, row, col) ? std::nullopt : std::optional(int_at(r, row, col));
}

SessionRow session_row(PGresult* r, int row) {
  SessionRow s;
  s.session_id = int_at(r, row, 0);
  s.started_at = common::Timestamp{std::chrono::microseconds(int_at(r, row, 1))};
  if (!null(r, row, 2)) s.finished_at = common::Timestamp{std::chrono::microseconds(int_at(r, row, 2))};
  s.duration_seconds = static_cast<int>(int_at(r, row, 3));
  s.window_size = static_cast<int>(int_at(r, row, 4));
  s.naming = PQgetvalue(r, row, 5);
  if (!null(r, row, 6)) s.reason = PQgetvalue(r, row, 6);
  s.sent = opt_int(r, row, 7);
  s.stored = opt_int(r, row, 8);
  s.lost = opt_int(r, row, 9);
  s.resent = opt_int(r, row, 10);
  if (!null(r, row, 11)) s.elapsed_seconds = std::stod(PQgetvalue(r, row, 11));
  return s;
}

/// {a,b,c} of percentile_disc over an array of fractions.
std::vector<std::int64_t> int_list(const char* text) {
  std::vector<std::int64_t> out;
  const char* p = text;
  while (*p != '\0') {
    if (*p == '{' || *p == ',' || *p == '}') {
      ++p;
      continue;
    }
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(p, p + std::char_traits<char>::length(p), v);
    if (ec != std::errc{}) break;
    out.push_back(v);
    p = end;
  }
  return out;
}

}  // namespace

PostgresReport::PostgresReport(common::DatabaseConfig config, common::Naming naming, std::int64_t max_distinct)
    : config_(std::move(config)),
      naming_(naming),
      max_distinct_(max_distinct),
      latencies_(detail::latencies_sql(naming_, postgres_identifier, micros)) {}

void PostgresReport::connect() {
  conn_.reset();
  // Read-only, and bounded: a report never holds a lock or the server for long.
  conn_ = connect_postgres(config_, "ringtrace-ms1-reports",
                           "-c client_min_messages=warning -c default_transaction_read_only=on"
                           " -c statement_timeout=10000");
}

PgResult PostgresReport::query(const std::string& sql, const char* what) {
  if (!conn_) throw StoreUnavailable(std::string(what) + ": not connected");
  PgResult result(PQexec(conn_.get(), sql.c_str()));
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
  if (state != nullptr && std::string_view(state) == "42P01") return nullptr;  // undefined_table: no schema yet
  const std::string message = postgres_error(what, result.get(), conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    conn_.reset();
    throw StoreUnavailable(message);
  }
  if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) PQclear(PQexec(conn_.get(), "ROLLBACK"));
  throw StoreError(message);
}

std::vector<SessionRow> PostgresReport::list_sessions(std::optional<std::int64_t> before, int limit) {
  std::string sql = std::string("SELECT ") + kSessionColumns + " FROM sessions";
  if (before) sql += " WHERE session_id < " + std::to_string(*before);
  sql += " ORDER BY session_id DESC LIMIT " + std::to_string(std::max(limit, 0));
  auto result = query(sql, "listing sessions");
  std::vector<SessionRow> rows;
  if (!result) return rows;
  for (int row = 0; row < PQntuples(result.get()); ++row) rows.push_back(session_row(result.get(), row));
  return rows;
}

std::int64_t PostgresReport::stored_rows(std::int64_t session_id) {
  auto result = query("SELECT count(*) FROM messages WHERE session_id = " + std::to_string(session_id), "counting rows");
  return result && PQntuples(result.get()) == 1 ? int_at(result.get(), 0, 0) : 0;
}

std::optional<SessionReport> PostgresReport::session_report(std::int64_t session_id, int slowest) {
  const std::string id = std::to_string(session_id);
  // One snapshot for every figure; the sorts of the percentiles fit in memory.
  if (!query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL work_mem = '256MB'", "starting a report")) {
    return std::nullopt;
  }
  struct Rollback {
    PostgresReport* self;
    ~Rollback() {
      if (self->conn_ && PQtransactionStatus(self->conn_.get()) != PQTRANS_IDLE) PQclear(PQexec(self->conn_.get(), "COMMIT"));
    }
  } finish{this};

  auto session = read_session(id);
  if (!session) return std::nullopt;
  SessionReport report;
  report.session = std::move(*session);
  report.bucket_seconds = throughput_bucket_seconds(report.session);
  report.clocks = read_clocks(id, report.session.naming);
  if (!read_value_counts(id, report)) read_ranked_figures(id, report);
  report.slowest = read_slowest(id, slowest, leg_shifts(report.clocks));
  return report;
}

std::string PostgresReport::latency_rows(const std::string& id) const { return "(" + latencies_ + id + ") m"; }

std::optional<SessionRow> PostgresReport::read_session(const std::string& id) {
  auto sessions = query(std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE session_id = " + id,
                        "reading a session");
  if (!sessions || PQntuples(sessions.get()) == 0) return std::nullopt;
  return session_row(sessions.get(), 0);
}

SessionClocks PostgresReport::read_clocks(const std::string& id, const std::string& naming) {
  SessionClocks clocks;
  // Looked up first: in a schema older than the table, a failed SELECT would end the snapshot.
  auto exists = query("SELECT to_regclass('clock_offsets') IS NOT NULL", "reading clock offsets");
  if (!exists || PQntuples(exists.get()) != 1 || std::string_view(PQgetvalue(exists.get(), 0, 0)) != "t") return clocks;
  auto result = query("SELECT stamp, offset_us, uncertainty_us, samples, " + epoch_us("measured_at") +
                          " FROM clock_offsets WHERE session_id = " + id,
                      "reading clock offsets");
  for (int row = 0; result && row < PQntuples(result.get()); ++row) {
    ClockRecord record;
    record.offset_us = int_at(result.get(), row, 1);
    record.uncertainty_us = int_at(result.get(), row, 2);
    record.samples = int_at(result.get(), row, 3);
    record.measured_at = common::Timestamp{std::chrono::microseconds(int_at(result.get(), row, 4))};
    keep_clock(clocks, PQgetvalue(result.get(), row, 0), record, naming);
  }
  return clocks;
}

std::string PostgresReport::value_counts_sql(const std::string& id, int bucket_seconds) const {
  // The slice is floor(seconds / width) in double: an interval's seconds are its integer µs / 1e6,
  // correctly rounded, so a whole-second boundary is exact and a value 1 µs below it stays below.
  const auto end = postgres_identifier(common::field_name(naming_, common::Hop::kEnd));
  const std::string started = "(SELECT started_at FROM sessions WHERE session_id = " + id + ")";
  std::string grouped =
      "WITH g AS MATERIALIZED (SELECT CASE GROUPING(d0, d1, d2, d3, s) WHEN 15 THEN 0 WHEN 23 THEN 1 WHEN 27 THEN 2"
      " WHEN 29 THEN 3 ELSE 4 END AS leg, COALESCE(d0, d1, d2, d3) AS d, s, count(*) AS c FROM (SELECT ";
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    const auto [from, to] = leg_stamps(static_cast<Leg>(leg));
    grouped += postgres_identifier(common::field_name(naming_, to)) + " - " + postgres_identifier(common::field_name(naming_, from)) + " AS d" +
               std::to_string(leg) + ", ";
  }
  // One scan feeding five hash tables (a grouping set each), rather than four rows a message.
  grouped += "floor(date_part('epoch', " + end + " - " + started + ") / " + std::to_string(bucket_seconds) +
             ")::bigint AS s FROM messages WHERE session_id = " + id +
             ") m GROUP BY GROUPING SETS ((d0), (d1), (d2), (d3), (s))"
             " HAVING COALESCE(d0, d1, d2, d3) IS NOT NULL OR s IS NOT NULL)"
             " SELECT leg, COALESCE((EXTRACT(EPOCH FROM d) * 1000000)::bigint, s), c FROM g"
             " WHERE (SELECT count(*) FROM g) <= " + std::to_string(max_distinct_) +
             " UNION ALL SELECT -1, 0, 0 WHERE (SELECT count(*) FROM g) > " + std::to_string(max_distinct_);
  return grouped;
}

bool PostgresReport::read_value_counts(const std::string& id, SessionReport& report) {
  // Usually: one scan, grouped by each leg's distinct latency (an interval, compared exactly)
  // and by throughput slice; every figure then follows exactly from the value counts, with no
  // sort of the rows and no per-row conversion.
  const auto sql = value_counts_sql(id, report.bucket_seconds);
  // Hashing, never sorting, the rows: a freshly filled session's statistics may be stale and
  // make the planner guess a few rows where there are millions.
  query("SET LOCAL enable_sort = off", "reading latencies");
  auto result = query(sql, "reading latencies");
  query("SET LOCAL enable_sort = on", "reading latencies");
  // A single row (-1, 0, 0): too many distinct values to ship.
  if (!result || (PQntuples(result.get()) == 1 && int_at(result.get(), 0, 0) == -1)) return false;
  std::array<std::map<std::int64_t, std::int64_t>, kLegCount + 1> counts;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    const auto leg = static_cast<std::size_t>(int_at(result.get(), row, 0));
    auto value = int_at(result.get(), row, 1);
    if (leg == kLegCount) value = std::max<std::int64_t>(value, 0);  // ended before the start: slice 0
    counts[leg][value] += int_at(result.get(), row, 2);
  }
  const auto shifts = leg_shifts(report.clocks);
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    report.legs[leg] = detail::stats_from_counts(counts[leg]);
    if (shifts[leg]) report.corrected[leg] = corrected_from_counts(counts[leg], *shifts[leg]);
  }
  report.throughput = detail::dense_throughput(counts[kLegCount], report.bucket_seconds);
  return true;
}

void PostgresReport::read_ranked_figures(const std::string& id, SessionReport& report) {
  // Too many distinct values to ship: the server sorts and buckets them itself.
  read_ranked_legs(id, report.legs);
  // Corrected percentiles are the raw ones shifted; only the histogram needs the shifted values.
  const auto shifts = leg_shifts(report.clocks);
  auto buckets = read_histograms(id, shifts);
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    report.legs[leg].buckets = std::move(buckets[leg]);
    if (shifts[leg]) {
      report.corrected[leg] = corrected_from_stats(report.legs[leg], *shifts[leg], std::move(buckets[kLegCount + leg]));
    }
  }
  if (auto throughput = read_throughput(id, report.session.started_at, report.bucket_seconds)) {
    report.throughput = std::move(*throughput);
  }
}

void PostgresReport::read_ranked_legs(const std::string& id, std::array<LegStats, kLegCount>& legs) {
  // Count, min, max and the nearest-rank percentiles of all four legs in one scan.
  std::string stats = "SELECT ";
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    const auto l = "l" + std::to_string(leg);
    stats += std::string(leg ? ", " : "") + "count(" + l + "), min(" + l + "), max(" + l +
             "), percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY " + l + ")";
  }
  auto result = query(stats + " FROM " + latency_rows(id), "reading latencies");
  if (!result) return;
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    const int col = static_cast<int>(leg) * 4;
    auto& s = legs[leg];
    s.count = int_at(result.get(), 0, col);
    if (s.count == 0) continue;
    s.min_us = int_at(result.get(), 0, col + 1);
    s.max_us = int_at(result.get(), 0, col + 2);
    const auto p = int_list(PQgetvalue(result.get(), 0, col + 3));
    if (p.size() == 3) {
      s.p50_us = p[0];
      s.p90_us = p[1];
      s.p99_us = p[2];
    }
  }
}

std::array<std::vector<Bucket>, 2 * kLegCount> PostgresReport::read_histograms(
    const std::string& id, const std::array<std::optional<LegShift>, kLegCount>& shifts) {
  // width_bucket over the integer bounds is exactly bucket_index().
  std::string bounds = "'{";
  const auto lower = detail::bucket_lower_us();
  for (std::size_t i = 1; i < lower.size(); ++i) bounds += (i > 1 ? "," : "") + std::to_string(lower[i]);
  bounds += "}'::bigint[]";
  // Every raw leg, and each corrected one as leg kLegCount + leg, in the same scan of the rows.
  std::string values = "(0, l0), (1, l1), (2, l2), (3, l3)";
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    if (!shifts[leg]) continue;
    values += ", (" + std::to_string(kLegCount + leg) + ", l" + std::to_string(leg) + " - (" +
              std::to_string(shifts[leg]->shift_us) + "))";
  }
  auto result = query("SELECT v.leg, width_bucket(v.us, " + bounds + "), count(*) FROM " + latency_rows(id) +
                          " CROSS JOIN LATERAL (VALUES " + values + ") v(leg, us) WHERE v.us IS NOT NULL GROUP BY 1, 2",
                      "reading histograms");
  std::array<std::vector<Bucket>, 2 * kLegCount> out;
  if (!result) return out;
  std::array<std::map<int, std::int64_t>, 2 * kLegCount> counts;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    counts[static_cast<std::size_t>(int_at(result.get(), row, 0))][static_cast<int>(int_at(result.get(), row, 1))] =
        int_at(result.get(), row, 2);
  }
  for (std::size_t leg = 0; leg < out.size(); ++leg) out[leg] = detail::dense_buckets(counts[leg]);
  return out;
}

std::optional<std::vector<ThroughputPoint>> PostgresReport::read_throughput(const std::string& id,
                                                                            common::Timestamp started_at,
                                                                            int bucket_seconds) {
  // Messages by the slice their end stamp falls in (before the start counts in 0).
  const auto end_stamp = postgres_identifier(common::field_name(naming_, common::Hop::kEnd));
  const std::string width = std::to_string(static_cast<std::int64_t>(bucket_seconds) * 1000000);
  auto result = query("SELECT GREATEST(0, (" + epoch_us(end_stamp) + " - " +
                          std::to_string(started_at.time_since_epoch().count()) + ") / " + width +
                          ") AS slice, count(*) FROM messages WHERE session_id = " + id + " AND " + end_stamp +
                          " IS NOT NULL GROUP BY 1",
                      "reading throughput");
  if (!result) return std::nullopt;
  std::map<std::int64_t, std::int64_t> slices;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    slices[int_at(result.get(), row, 0)] = int_at(result.get(), row, 1);
  }
  return detail::dense_throughput(slices, bucket_seconds);
}

std::vector<SlowMessage> PostgresReport::read_slowest(const std::string& id, int slowest,
                                                     const std::array<std::optional<LegShift>, kLegCount>& shifts) {
  // The slowest by cycle; a leg whose stamps are missing reads 0.
  auto result = query("SELECT id, trace_id, l0, l1, l2, l3 FROM " + latency_rows(id) +
                          " WHERE l3 IS NOT NULL ORDER BY l3 DESC, id LIMIT " + std::to_string(std::max(slowest, 0)),
                      "reading the slowest messages");
  std::vector<SlowMessage> messages;
  if (!result) return messages;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    SlowMessage m;
    m.id = int_at(result.get(), row, 0);
    if (!null(result.get(), row, 1)) m.trace_id = PQgetvalue(result.get(), row, 1);
    for (std::size_t leg = 0; leg < kLegCount; ++leg) {
      const auto raw = opt_int(result.get(), row, 2 + static_cast<int>(leg));
      m.legs_us[leg] = raw.value_or(0);
      m.corrected_us[leg] = corrected_value(raw, shifts[leg]);
    }
    messages.push_back(std::move(m));
  }
  return messages;
}

}  // namespace ringtrace::ms1
