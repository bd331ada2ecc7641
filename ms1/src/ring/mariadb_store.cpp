#include "ringtrace/ms1/ring/mariadb_store.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace ringtrace::ms1 {

namespace {

using common::Hop;


MYSQL_TIME to_mysql_time(common::Timestamp ts) {
  using namespace std::chrono;
  const auto day = floor<days>(ts);
  const year_month_day ymd{day};
  const hh_mm_ss tod{ts - day};
  MYSQL_TIME t{};
  t.year = static_cast<unsigned>(static_cast<int>(ymd.year()));
  t.month = static_cast<unsigned>(ymd.month());
  t.day = static_cast<unsigned>(ymd.day());
  t.hour = static_cast<unsigned>(tod.hours().count());
  t.minute = static_cast<unsigned>(tod.minutes().count());
  t.second = static_cast<unsigned>(tod.seconds().count());
  t.second_part = static_cast<unsigned long>(tod.subseconds().count());
  t.time_type = MYSQL_TIMESTAMP_DATETIME;
  return t;
}

void bind_int(MYSQL_BIND& bind, const std::int64_t& value) {
  bind.buffer_type = MYSQL_TYPE_LONGLONG;
  bind.buffer = const_cast<std::int64_t*>(&value);
}

void bind_double(MYSQL_BIND& bind, const double& value) {
  bind.buffer_type = MYSQL_TYPE_DOUBLE;
  bind.buffer = const_cast<double*>(&value);
}

void bind_text(MYSQL_BIND& bind, const std::string& value) {
  bind.buffer_type = MYSQL_TYPE_STRING;
  bind.buffer = const_cast<char*>(value.data());
  bind.buffer_length = value.size();
}

void bind_time(MYSQL_BIND& bind, MYSQL_TIME& value, my_bool* is_null) {
  bind.buffer_type = MYSQL_TYPE_DATETIME;
  bind.buffer = &value;
  bind.is_null = is_null;
}

}  // namespace

MariaDbStore::MariaDbStore(common::DatabaseConfig config, common::Naming naming)
    : config_(std::move(config)), naming_(naming) {}

MariaDbStore::~MariaDbStore() { disconnect(); }

void MariaDbStore::disconnect() {
  insert_.reset();
  begin_.reset();
  finish_.reset();
  bound_.reset();
  clock_.reset();
  if (conn_ != nullptr) {
    mysql_close(conn_);
    conn_ = nullptr;
  }
}

void MariaDbStore::raise(unsigned error, const std::string& message, const char* what) {
  const std::string text = std::string(what) + ": " + message + " (error " + std::to_string(error) + ")";
  if (mariadb_connection_lost(error)) {
    disconnect();
    throw StoreUnavailable(text);
  }
  throw StoreError(text);
}

void MariaDbStore::query(const std::string& sql, const char* what) {
  if (conn_ == nullptr) throw StoreUnavailable(std::string(what) + ": not connected");
  if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) raise(mysql_errno(conn_), mysql_error(conn_), what);
  // Drain any result (GET_LOCK returns one) so the connection is ready for the next statement.
  if (MYSQL_RES* result = mysql_store_result(conn_)) mysql_free_result(result);
}

MariaDbStore::Stmt MariaDbStore::prepare(const std::string& sql, const char* what) {
  Stmt stmt(mysql_stmt_init(conn_));
  if (!stmt) raise(mysql_errno(conn_), mysql_error(conn_), what);
  if (mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()) != 0) {
    raise(mysql_stmt_errno(stmt.get()), mysql_stmt_error(stmt.get()), what);
  }
  return stmt;
}

void MariaDbStore::execute(MYSQL_STMT* stmt, MYSQL_BIND* params, const char* what) {
  if (mysql_stmt_bind_param(stmt, params) != 0 || mysql_stmt_execute(stmt) != 0) {
    raise(mysql_stmt_errno(stmt), mysql_stmt_error(stmt), what);
  }
}

void MariaDbStore::connect() {
  disconnect();
  conn_ = connect_mariadb(config_);
  // Serialise concurrent schema creation (two MS1 starting at once).
  query("SELECT GET_LOCK('ringtrace_schema', 30)", "locking the schema");
  query("CREATE TABLE IF NOT EXISTS sessions ("
        " session_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " started_at DATETIME(6) NOT NULL,"
        " finished_at DATETIME(6) NULL,"
        " duration_seconds INT NOT NULL,"
        " window_size INT NOT NULL,"
        " naming VARCHAR(16) NOT NULL,"
        " reason VARCHAR(16) NULL,"
        " sent BIGINT NULL,"
        " stored BIGINT NULL,"
        " lost BIGINT NULL,"
        " elapsed_seconds DOUBLE NULL) ENGINE=InnoDB",
        "creating the sessions table");
  query("ALTER TABLE sessions ADD COLUMN IF NOT EXISTS resent BIGINT NULL", "adding the resent column");
  query("CREATE TABLE IF NOT EXISTS messages ("
        " session_id BIGINT NOT NULL,"
        " id BIGINT NOT NULL,"
        " PRIMARY KEY (session_id, id)) ENGINE=InnoDB",
        "creating the messages table");
  query("ALTER TABLE messages ADD COLUMN IF NOT EXISTS trace_id CHAR(32) NULL", "adding the trace id column");
  // Columns follow the configured naming; a database used with both namings keeps both sets.
  for (std::size_t i = 0; i < common::kHopCount; ++i) {
    query("ALTER TABLE messages ADD COLUMN IF NOT EXISTS " + mariadb_identifier(common::field_name(naming_, static_cast<Hop>(i))) +
              " DATETIME(6) NULL",
          "adding a timestamp column");
  }
  // A session's clock offsets, one row a peer clock, named by the stamp that clock writes.
  query("CREATE TABLE IF NOT EXISTS clock_offsets ("
        " session_id BIGINT NOT NULL,"
        " stamp VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
        " offset_us BIGINT NOT NULL,"
        " uncertainty_us BIGINT NOT NULL,"
        " samples BIGINT NOT NULL,"
        " measured_at DATETIME(6) NOT NULL,"
        " PRIMARY KEY (session_id, stamp)) ENGINE=InnoDB",
        "creating the clock offsets table");
  query("SELECT RELEASE_LOCK('ringtrace_schema')", "unlocking the schema");

  std::string insert = "INSERT INTO messages (session_id, id";
  for (std::size_t i = 0; i < common::kHopCount; ++i) insert += ", " + mariadb_identifier(common::field_name(naming_, static_cast<Hop>(i)));
  insert += ", trace_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id";
  insert_ = prepare(insert, "preparing the insert");
  begin_ = prepare("INSERT INTO sessions (started_at, duration_seconds, window_size, naming) VALUES (?, ?, ?, ?)",
                   "preparing the session insert");
  finish_ = prepare("UPDATE sessions SET finished_at = ?, reason = ?, sent = ?, stored = ?, lost = ?,"
                    " elapsed_seconds = ?, resent = ? WHERE session_id = ?",
                    "preparing the session update");
  // The id bound of a closed session (see MessageStore::id_bound); NULL while open.
  bound_ = prepare("SELECT CASE WHEN reason IS NULL THEN NULL WHEN sent IS NOT NULL THEN sent"
                   " ELSE COALESCE(stored, 0) + window_size END FROM sessions WHERE session_id = ?",
                   "preparing the session lookup");
  clock_ = prepare("INSERT INTO clock_offsets (session_id, stamp, offset_us, uncertainty_us, samples, measured_at)"
                   " VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE offset_us = VALUES(offset_us),"
                   " uncertainty_us = VALUES(uncertainty_us), samples = VALUES(samples), measured_at = VALUES(measured_at)",
                   "preparing the clock upsert");
}

template <typename Write>
void MariaDbStore::with_clocks(std::span<const ClockRecord> clocks, Write&& write) {
  if (std::none_of(clocks.begin(), clocks.end(), [](const ClockRecord& c) { return is_peer_clock(c.clock); })) {
    write();
    return;
  }
  query("START TRANSACTION", "starting a transaction");
  try {
    const std::int64_t id = write();
    for (const auto& clock : clocks) {
      if (!is_peer_clock(clock.clock)) continue;
      const std::string stamp(common::field_name(naming_, clock.clock));
      MYSQL_TIME measured = to_mysql_time(clock.measured_at);
      std::array<MYSQL_BIND, 6> params{};
      bind_int(params[0], id);
      bind_text(params[1], stamp);
      bind_int(params[2], clock.offset_us);
      bind_int(params[3], clock.uncertainty_us);
      bind_int(params[4], clock.samples);
      bind_time(params[5], measured, nullptr);
      execute(clock_.get(), params.data(), "recording clock offsets");
    }
    if (mysql_commit(conn_) != 0) raise(mysql_errno(conn_), mysql_error(conn_), "committing a session");
  } catch (const StoreError&) {
    mysql_rollback(conn_);
    throw;
  }
}

std::int64_t MariaDbStore::begin_session(const SessionSettings& settings, common::Timestamp started_at,
                                         std::span<const ClockRecord> clocks) {
  if (conn_ == nullptr) throw StoreUnavailable("recording a session: not connected");
  MYSQL_TIME started = to_mysql_time(started_at);
  const std::int64_t duration = settings.duration_seconds;
  const std::int64_t window = settings.window;
  const std::string naming(common::to_string(naming_));
  std::array<MYSQL_BIND, 4> params{};
  bind_time(params[0], started, nullptr);
  bind_int(params[1], duration);
  bind_int(params[2], window);
  bind_text(params[3], naming);
  std::int64_t id = 0;
  with_clocks(clocks, [&] {
    execute(begin_.get(), params.data(), "recording a session");
    id = static_cast<std::int64_t>(mysql_stmt_insert_id(begin_.get()));
    return id;
  });
  return id;
}

std::vector<bool> MariaDbStore::store(std::span<const StoreRow> rows) {
  std::vector<bool> inserted(rows.size(), false);
  if (rows.empty()) return inserted;
  if (conn_ == nullptr) throw StoreUnavailable("storing messages: not connected");
  query("START TRANSACTION", "storing messages");
  try {
    std::int64_t session_id = 0;
    std::int64_t id = 0;
    std::array<MYSQL_TIME, common::kHopCount> stamps{};
    std::array<my_bool, common::kHopCount> is_null{};
    std::array<char, 32> trace{};
    unsigned long trace_length = trace.size();
    my_bool trace_null = 0;
    std::array<MYSQL_BIND, 3 + common::kHopCount> params{};
    bind_int(params[0], session_id);
    bind_int(params[1], id);
    for (std::size_t h = 0; h < common::kHopCount; ++h) bind_time(params[2 + h], stamps[h], &is_null[h]);
    auto& trace_bind = params[2 + common::kHopCount];
    trace_bind.buffer_type = MYSQL_TYPE_STRING;
    trace_bind.buffer = trace.data();
    trace_bind.buffer_length = trace.size();
    trace_bind.length = &trace_length;
    trace_bind.is_null = &trace_null;
    if (mysql_stmt_bind_param(insert_.get(), params.data()) != 0) {
      raise(mysql_stmt_errno(insert_.get()), mysql_stmt_error(insert_.get()), "storing messages");
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& message = rows[i].message;
      session_id = message.session_id;
      id = message.id;
      for (std::size_t h = 0; h < common::kHopCount; ++h) {
        const auto& ts = message.stamps[h];
        is_null[h] = ts ? 0 : 1;
        if (ts) stamps[h] = to_mysql_time(*ts);
      }
      const auto text = trace_id_text(rows[i].trace_id);
      trace_null = text.empty() ? 1 : 0;
      std::copy(text.begin(), text.end(), trace.begin());
      if (mysql_stmt_execute(insert_.get()) != 0) {
        raise(mysql_stmt_errno(insert_.get()), mysql_stmt_error(insert_.get()), "storing messages");
      }
      inserted[i] = mysql_stmt_affected_rows(insert_.get()) == 1;
    }
    if (mysql_commit(conn_) != 0) raise(mysql_errno(conn_), mysql_error(conn_), "committing messages");
  } catch (const StoreError&) {
    mysql_rollback(conn_);
    throw;
  }
  return inserted;
}

void MariaDbStore::finish_session(const SessionSummary& summary) {
  if (conn_ == nullptr) throw StoreUnavailable("finishing a session: not connected");
  MYSQL_TIME finished = to_mysql_time(summary.finished_at);
  const std::string reason(to_string(summary.reason));
  const std::int64_t sent = summary.sent;
  const std::int64_t stored = summary.stored;
  const std::int64_t lost = summary.lost;
  const double elapsed = std::chrono::duration<double>(summary.elapsed).count();
  const std::int64_t resent = summary.resent;
  const std::int64_t id = summary.session_id;
  std::array<MYSQL_BIND, 8> params{};
  bind_time(params[0], finished, nullptr);
  bind_text(params[1], reason);
  bind_int(params[2], sent);
  bind_int(params[3], stored);
  bind_int(params[4], lost);
  bind_double(params[5], elapsed);
  bind_int(params[6], resent);
  bind_int(params[7], id);
  with_clocks(summary.clocks, [&] {
    execute(finish_.get(), params.data(), "finishing a session");
    return id;
  });
}

std::vector<std::int64_t> MariaDbStore::close_interrupted_sessions() {
  constexpr const char* kWhat = "closing interrupted sessions";
  if (conn_ == nullptr) throw StoreUnavailable(std::string(kWhat) + ": not connected");
  query("START TRANSACTION", kWhat);
  std::vector<std::int64_t> ids;
  try {
    // MariaDB's UPDATE has no RETURNING: read the ids under a lock, then close them.
    const std::string select = "SELECT session_id FROM sessions WHERE finished_at IS NULL ORDER BY session_id FOR UPDATE";
    if (mysql_real_query(conn_, select.data(), select.size()) != 0) raise(mysql_errno(conn_), mysql_error(conn_), kWhat);
    std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> result(mysql_store_result(conn_), &mysql_free_result);
    if (!result) raise(mysql_errno(conn_), mysql_error(conn_), kWhat);
    while (MYSQL_ROW row = mysql_fetch_row(result.get())) ids.push_back(std::stoll(row[0]));
    if (!ids.empty()) {
      query("UPDATE sessions s SET finished_at = UTC_TIMESTAMP(6), reason = 'interrupted',"
            " stored = (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.session_id)"
            " WHERE s.finished_at IS NULL",
            kWhat);
    }
    if (mysql_commit(conn_) != 0) raise(mysql_errno(conn_), mysql_error(conn_), kWhat);
  } catch (const StoreError&) {
    mysql_rollback(conn_);
    throw;
  }
  return ids;
}

std::optional<std::int64_t> MariaDbStore::id_bound(std::int64_t session_id) {
  constexpr const char* kWhat = "looking up a session";
  if (conn_ == nullptr) throw StoreUnavailable(std::string(kWhat) + ": not connected");
  std::array<MYSQL_BIND, 1> params{};
  bind_int(params[0], session_id);
  execute(bound_.get(), params.data(), kWhat);
  std::int64_t bound = 0;
  my_bool is_null = 0;
  MYSQL_BIND column{};
  column.buffer_type = MYSQL_TYPE_LONGLONG;
  column.buffer = &bound;
  column.is_null = &is_null;
  const int fetched = mysql_stmt_bind_result(bound_.get(), &column) == 0 ? mysql_stmt_fetch(bound_.get()) : 1;
  const unsigned error = mysql_stmt_errno(bound_.get());
  const std::string message = mysql_stmt_error(bound_.get());
  mysql_stmt_free_result(bound_.get());  // at most one row (the primary key); the statement is ready again
  if (fetched == 1) raise(error, message, kWhat);
  if (fetched == MYSQL_NO_DATA || is_null != 0) return std::nullopt;
  return bound;
}

}  // namespace ringtrace::ms1
