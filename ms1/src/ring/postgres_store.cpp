#include "ringtrace/ms1/ring/postgres_store.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

namespace ringtrace::ms1 {

namespace {

using common::Hop;

void append_int(std::string& out, std::int64_t value) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

/// PostgreSQL array literal of the stamps at `hop`: {2026-…Z,NULL,…}.
std::string stamp_array(std::span<const StoreRow> rows, Hop hop) {
  std::string out = "{";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i != 0) out += ',';
    if (const auto& ts = rows[i].message.at(hop)) {
      common::append_timestamp(out, *ts);
    } else {
      out += "NULL";
    }
  }
  out += '}';
  return out;
}

template <typename Get>
std::string int_array(std::span<const StoreRow> rows, Get get) {
  std::string out = "{";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i != 0) out += ',';
    append_int(out, get(rows[i].message));
  }
  out += '}';
  return out;
}

/// PostgreSQL array literal of the trace ids: {<32 hex>,NULL,…} (NULL for an untraced row).
std::string trace_array(std::span<const StoreRow> rows) {
  std::string out = "{";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i != 0) out += ',';
    const auto text = trace_id_text(rows[i].trace_id);
    out += text.empty() ? std::string("NULL") : text;
  }
  out += '}';
  return out;
}

constexpr const char* kStoreStatement = "ringtrace_store";
constexpr const char* kBeginStatement = "ringtrace_begin";
constexpr const char* kFinishStatement = "ringtrace_finish";
constexpr const char* kBoundStatement = "ringtrace_bound";
constexpr const char* kClockStatement = "ringtrace_clock";
/// The id bound of a closed session (see MessageStore::id_bound); NULL while open.
constexpr const char* kIdBoundSelect =
    "SELECT CASE WHEN reason IS NULL THEN NULL WHEN sent IS NOT NULL THEN sent"
    " ELSE COALESCE(stored, 0) + window_size END FROM sessions WHERE session_id = $1::bigint";
constexpr std::int64_t kSchemaLockKey = 0x72696e67;  // serialises concurrent schema creation

}  // namespace

PostgresStore::PostgresStore(common::DatabaseConfig config, common::Naming naming)
    : config_(std::move(config)), naming_(naming) {}

PgResult PostgresStore::check(PGresult* raw, const char* what) {
  PgResult result(raw);
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const std::string message = postgres_error(what, result.get(), conn_.get());
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    conn_.reset();
    throw StoreUnavailable(message);
  }
  throw StoreError(message);
}

void PostgresStore::exec(const std::string& sql, const char* what) {
  if (!conn_) throw StoreUnavailable(std::string(what) + ": not connected");
  check(PQexec(conn_.get(), sql.c_str()), what);
}

void PostgresStore::connect() {
  conn_.reset();
  conn_ = connect_postgres(config_, "ringtrace-ms1", "-c client_min_messages=warning");

  std::string ddl =
      "BEGIN;"
      "SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLockKey) + ");"
      "CREATE TABLE IF NOT EXISTS sessions ("
      " session_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
      " started_at TIMESTAMPTZ NOT NULL,"
      " finished_at TIMESTAMPTZ,"
      " duration_seconds INTEGER NOT NULL,"
      " window_size INTEGER NOT NULL,"
      " naming TEXT NOT NULL,"
      " reason TEXT,"
      " sent BIGINT,"
      " stored BIGINT,"
      " lost BIGINT,"
      " elapsed_seconds DOUBLE PRECISION);"
      "ALTER TABLE sessions ADD COLUMN IF NOT EXISTS resent BIGINT;"
      "CREATE TABLE IF NOT EXISTS messages ("
      " session_id BIGINT NOT NULL,"
      " id BIGINT NOT NULL,"
      " PRIMARY KEY (session_id, id));"
      "ALTER TABLE messages ADD COLUMN IF NOT EXISTS trace_id TEXT;"
      // A session's clock offsets, one row a peer clock, named by the stamp that clock writes.
      "CREATE TABLE IF NOT EXISTS clock_offsets ("
      " session_id BIGINT NOT NULL,"
      " stamp TEXT NOT NULL,"
      " offset_us BIGINT NOT NULL,"
      " uncertainty_us BIGINT NOT NULL,"
      " samples BIGINT NOT NULL,"
      " measured_at TIMESTAMPTZ NOT NULL,"
      " PRIMARY KEY (session_id, stamp));";
  // Columns follow the configured naming; a database used with both namings keeps both sets.
  for (std::size_t i = 0; i < common::kHopCount; ++i) {
    ddl += "ALTER TABLE messages ADD COLUMN IF NOT EXISTS " + postgres_identifier(common::field_name(naming_, static_cast<Hop>(i))) +
           " TIMESTAMPTZ;";
  }
  ddl += "COMMIT;";
  exec(ddl, "creating the schema");

  std::string insert = "INSERT INTO messages (session_id, id";
  for (std::size_t i = 0; i < common::kHopCount; ++i) {
    insert += ", " + postgres_identifier(common::field_name(naming_, static_cast<Hop>(i)));
  }
  insert +=
      ", trace_id) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[],"
      " $5::timestamptz[], $6::timestamptz[], $7::text[])"
      " ON CONFLICT (session_id, id) DO NOTHING RETURNING session_id, id";
  check(PQprepare(conn_.get(), kStoreStatement, insert.c_str(), 7, nullptr), "preparing the insert");
  check(PQprepare(conn_.get(), kBeginStatement,
                  "INSERT INTO sessions (started_at, duration_seconds, window_size, naming)"
                  " VALUES ($1::timestamptz, $2::integer, $3::integer, $4) RETURNING session_id",
                  4, nullptr),
        "preparing the session insert");
  check(PQprepare(conn_.get(), kFinishStatement,
                  "UPDATE sessions SET finished_at = $2::timestamptz, reason = $3, sent = $4::bigint,"
                  " stored = $5::bigint, lost = $6::bigint, elapsed_seconds = $7::double precision,"
                  " resent = $8::bigint WHERE session_id = $1::bigint",
                  8, nullptr),
        "preparing the session update");
  check(PQprepare(conn_.get(), kBoundStatement, kIdBoundSelect, 1, nullptr), "preparing the session lookup");
  check(PQprepare(conn_.get(), kClockStatement,
                  "INSERT INTO clock_offsets (session_id, stamp, offset_us, uncertainty_us, samples, measured_at)"
                  " VALUES ($1::bigint, $2, $3::bigint, $4::bigint, $5::bigint, $6::timestamptz)"
                  " ON CONFLICT (session_id, stamp) DO UPDATE SET offset_us = EXCLUDED.offset_us,"
                  " uncertainty_us = EXCLUDED.uncertainty_us, samples = EXCLUDED.samples,"
                  " measured_at = EXCLUDED.measured_at",
                  6, nullptr),
        "preparing the clock upsert");
}

void PostgresStore::rollback() {
  if (conn_ && PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) PQclear(PQexec(conn_.get(), "ROLLBACK"));
}

template <typename Write>
void PostgresStore::with_clocks(std::span<const ClockRecord> clocks, Write&& write) {
  if (std::none_of(clocks.begin(), clocks.end(), [](const ClockRecord& c) { return is_peer_clock(c.clock); })) {
    write();
    return;
  }
  exec("BEGIN", "starting a transaction");
  try {
    const std::string id = std::to_string(write());
    for (const auto& clock : clocks) {
      if (!is_peer_clock(clock.clock)) continue;
      const std::string stamp(common::field_name(naming_, clock.clock));
      const std::string offset = std::to_string(clock.offset_us);
      const std::string uncertainty = std::to_string(clock.uncertainty_us);
      const std::string samples = std::to_string(clock.samples);
      const std::string measured = common::format_timestamp(clock.measured_at);
      const char* params[] = {id.c_str(),      stamp.c_str(),   offset.c_str(),
                              uncertainty.c_str(), samples.c_str(), measured.c_str()};
      check(PQexecPrepared(conn_.get(), kClockStatement, 6, params, nullptr, nullptr, 0), "recording clock offsets");
    }
    exec("COMMIT", "committing a session");
  } catch (const StoreError&) {
    rollback();
    throw;
  }
}

std::int64_t PostgresStore::begin_session(const SessionSettings& settings, common::Timestamp started_at,
                                          std::span<const ClockRecord> clocks) {
  if (!conn_) throw StoreUnavailable("recording a session: not connected");
  const std::string started = common::format_timestamp(started_at);
  const std::string duration = std::to_string(settings.duration_seconds);
  const std::string window = std::to_string(settings.window);
  const std::string naming(common::to_string(naming_));
  const char* params[] = {started.c_str(), duration.c_str(), window.c_str(), naming.c_str()};
  std::int64_t id = 0;
  with_clocks(clocks, [&] {
    auto result = check(PQexecPrepared(conn_.get(), kBeginStatement, 4, params, nullptr, nullptr, 0), "recording a session");
    id = std::stoll(PQgetvalue(result.get(), 0, 0));
    return id;
  });
  return id;
}

std::vector<bool> PostgresStore::store(std::span<const StoreRow> rows) {
  std::vector<bool> inserted(rows.size(), false);
  if (rows.empty()) return inserted;
  if (!conn_) throw StoreUnavailable("storing messages: not connected");
  const std::string sessions = int_array(rows, [](const common::Message& m) { return m.session_id; });
  const std::string ids = int_array(rows, [](const common::Message& m) { return m.id; });
  std::array<std::string, common::kHopCount> stamps;
  for (std::size_t i = 0; i < common::kHopCount; ++i) stamps[i] = stamp_array(rows, static_cast<Hop>(i));
  const std::string traces = trace_array(rows);
  const char* params[] = {sessions.c_str(),  ids.c_str(),       stamps[0].c_str(), stamps[1].c_str(),
                          stamps[2].c_str(), stamps[3].c_str(), traces.c_str()};
  auto result = check(PQexecPrepared(conn_.get(), kStoreStatement, 7, params, nullptr, nullptr, 0), "storing messages");

  std::set<std::pair<std::int64_t, std::int64_t>> fresh;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    fresh.emplace(std::stoll(PQgetvalue(result.get(), row, 0)), std::stoll(PQgetvalue(result.get(), row, 1)));
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    // erase() so a key repeated within one batch counts as new only once
    inserted[i] = fresh.erase({rows[i].message.session_id, rows[i].message.id}) == 1;
  }
  return inserted;
}

void PostgresStore::finish_session(const SessionSummary& summary) {
  if (!conn_) throw StoreUnavailable("finishing a session: not connected");
  const std::string id = std::to_string(summary.session_id);
  const std::string finished = common::format_timestamp(summary.finished_at);
  const std::string reason(to_string(summary.reason));
  const std::string sent = std::to_string(summary.sent);
  const std::string stored = std::to_string(summary.stored);
  const std::string lost = std::to_string(summary.lost);
  const std::string elapsed = std::to_string(std::chrono::duration<double>(summary.elapsed).count());
  const std::string resent = std::to_string(summary.resent);
  const char* params[] = {id.c_str(),     finished.c_str(), reason.c_str(),  sent.c_str(),
                          stored.c_str(), lost.c_str(),     elapsed.c_str(), resent.c_str()};
  with_clocks(summary.clocks, [&] {
    check(PQexecPrepared(conn_.get(), kFinishStatement, 8, params, nullptr, nullptr, 0), "finishing a session");
    return summary.session_id;
  });
}

std::vector<std::int64_t> PostgresStore::close_interrupted_sessions() {
  if (!conn_) throw StoreUnavailable("closing interrupted sessions: not connected");
  auto result = check(PQexec(conn_.get(),
                             "UPDATE sessions s SET finished_at = now(), reason = 'interrupted',"
                             " stored = (SELECT count(*) FROM messages m WHERE m.session_id = s.session_id)"
                             " WHERE s.finished_at IS NULL RETURNING s.session_id"),
                      "closing interrupted sessions");
  std::vector<std::int64_t> ids;
  for (int row = 0; row < PQntuples(result.get()); ++row) ids.push_back(std::stoll(PQgetvalue(result.get(), row, 0)));
  return ids;
}

std::optional<std::int64_t> PostgresStore::id_bound(std::int64_t session_id) {
  if (!conn_) throw StoreUnavailable("looking up a session: not connected");
  const std::string id = std::to_string(session_id);
  const char* params[] = {id.c_str()};
  auto result =
      check(PQexecPrepared(conn_.get(), kBoundStatement, 1, params, nullptr, nullptr, 0), "looking up a session");
  if (PQntuples(result.get()) == 0 || PQgetisnull(result.get(), 0, 0)) return std::nullopt;
  return std::stoll(PQgetvalue(result.get(), 0, 0));
}

}  // namespace ringtrace::ms1
