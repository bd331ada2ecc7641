// What a report costs on a large session, on the real database: fills one session with N rows
// in the database itself (generate_series / MariaDB's sequence engine, not N inserts from here),
// then times session_report on a fresh connection (cold) and again (warm, the median of a few
// runs), the row count that revalidates a closed session's cached report (cached), and
// list_sessions. Prints key=value figures on stdout (scripts/bench.sh), progress and a one-line
// summary on stderr.
//   ringtrace-report-bench --db postgresql|mariadb [--rows N] [--runs K]
// Connection settings as the services read them (defaults, RINGTRACE__DATABASE__*).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <libpq-fe.h>
#include <mysql.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/ms1/ring/message_store.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

using namespace ringtrace;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string q(const common::DatabaseConfig& c, common::Hop hop, common::Naming naming) {
  const auto name = std::string(common::field_name(naming, hop));
  return c.driver == "postgresql" ? "\"" + name + "\"" : "`" + name + "`";
}

/// The fill: MS1 stamps message g at start + 10 µs·g; each hop takes a few hundred µs to a few ms,
/// spread by multiplicative hashing so the percentiles and buckets have work to do.
std::string fill_sql(const common::DatabaseConfig& c, common::Naming n, std::int64_t session, std::int64_t rows) {
  using common::Hop;
  const std::string s = std::to_string(session);
  const std::string cols = "(session_id, id, " + q(c, Hop::kMs1, n) + ", " + q(c, Hop::kMs2, n) + ", " +
                           q(c, Hop::kMs3, n) + ", " + q(c, Hop::kEnd, n) + ", trace_id)";
  if (c.driver == "postgresql") {
    return "INSERT INTO messages " + cols + " SELECT " + s +
           ", g, t1, t2, t3, t3 + make_interval(secs => (150 + (g * 1299709) % 2000) / 1e6), md5(g::text)"
           " FROM (SELECT g, t1, t2, t2 + make_interval(secs => (300 + (g * 104729) % 5000) / 1e6) AS t3"
           " FROM (SELECT g, t1, t1 + make_interval(secs => (200 + (g * 7919) % 3000) / 1e6) AS t2"
           " FROM (SELECT g, (SELECT started_at FROM sessions WHERE session_id = " + s +
           ") + make_interval(secs => g * 10 / 1e6) AS t1 FROM generate_series(1::bigint, " + std::to_string(rows) +
           ") g) a) b) c";
  }
  return "INSERT INTO messages " + cols + " SELECT " + s +
         ", seq, t1, t2, t3, t3 + INTERVAL (150 + (seq * 1299709) % 2000) MICROSECOND, MD5(seq)"
         " FROM (SELECT seq, t1, t2, t2 + INTERVAL (300 + (seq * 104729) % 5000) MICROSECOND AS t3"
         " FROM (SELECT seq, t1, t1 + INTERVAL (200 + (seq * 7919) % 3000) MICROSECOND AS t2"
         " FROM (SELECT seq, (SELECT started_at FROM sessions WHERE session_id = " + s +
         ") + INTERVAL (seq * 10) MICROSECOND AS t1 FROM seq_1_to_" + std::to_string(rows) + ") a) b) c";
}

/// Runs one statement on a plain connection (the stores' connections are for their own SQL).
void run_sql(const common::DatabaseConfig& c, const std::string& sql) {
  if (c.driver == "postgresql") {
    const auto conninfo = "host=" + c.host + " port=" + std::to_string(c.port) + " dbname=" + c.name + " user=" + c.user +
                          " password=" + c.password;
    PGconn* conn = PQconnectdb(conninfo.c_str());
    PGresult* r = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, sql.c_str()) : nullptr;
    const bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string error = PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
    if (!ok) throw std::runtime_error("fill: " + error);
    return;
  }
  MYSQL* conn = mysql_init(nullptr);
  const bool ok = mysql_real_connect(conn, c.host.c_str(), c.user.c_str(), c.password.c_str(), c.name.c_str(), c.port,
                                     nullptr, 0) != nullptr &&
                  mysql_query(conn, "SET time_zone = '+00:00'") == 0 && mysql_query(conn, sql.c_str()) == 0;
  const std::string error = mysql_error(conn);
  mysql_close(conn);
  if (!ok) throw std::runtime_error("fill: " + error);
}

}  // namespace

int main(int argc, char** argv) {
  std::string driver = "postgresql";
  std::int64_t rows = 1000000;
  int runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--db") driver = argv[i + 1];
    else if (key == "--rows") rows = std::stoll(argv[i + 1]);
    else if (key == "--runs") runs = std::max(1, std::stoi(argv[i + 1]));
    else {
      std::cerr << "usage: ringtrace-report-bench --db postgresql|mariadb [--rows N] [--runs K]\n";
      return 2;
    }
  }
  try {
    auto env = common::process_environment();
    env["RINGTRACE__DATABASE__DRIVER"] = driver;
    const auto config = common::parse_config("", env).database;
    const auto naming = common::Naming::kService;

    auto store = ms1::make_store(config, naming);
    store->connect();  // the schema
    const auto started = common::now_utc();
    const auto session = store->begin_session({10, 256}, started, {});
    auto t = Clock::now();
    run_sql(config, fill_sql(config, naming, session, rows));
    const double fill_ms = ms_since(t);
    ms1::SessionSummary summary;
    summary.session_id = session;
    summary.reason = ms1::StopReason::kDuration;
    summary.sent = rows;
    summary.stored = rows;
    summary.elapsed = std::chrono::microseconds(rows * 10);
    summary.finished_at = started + std::chrono::microseconds(rows * 10);
    store->finish_session(summary);
    std::cerr << "report bench: " << driver << ": session " << session << " filled with " << rows << " rows in "
              << fill_ms << " ms\n";

    auto reports = ms1::make_report_store(config, naming);
    reports->connect();
    t = Clock::now();
    const auto first = reports->session_report(session, 10);
    const double cold = ms_since(t);
    if (!first || first->legs[static_cast<std::size_t>(ms1::Leg::kCycle)].count != rows) {
      throw std::runtime_error("the report does not count the rows filled");
    }
    std::vector<double> warm;
    for (int i = 0; i < runs; ++i) {
      t = Clock::now();
      reports->session_report(session, 10);
      warm.push_back(ms_since(t));
    }
    // What a repeated look at the closed session costs: MS1's report thread serves its cached
    // report after counting the session's rows (a late message would add one).
    std::vector<double> recount;
    for (int i = 0; i < runs; ++i) {
      t = Clock::now();
      if (reports->stored_rows(session) != rows) throw std::runtime_error("stored_rows does not count the rows filled");
      recount.push_back(ms_since(t));
    }
    std::vector<double> list;
    for (int i = 0; i < runs; ++i) {
      t = Clock::now();
      reports->list_sessions(std::nullopt, 20);
      list.push_back(ms_since(t));
    }
    const auto& cycle = first->legs[static_cast<std::size_t>(ms1::Leg::kCycle)];
    std::printf("report_rows=%lld\nreport_cold_ms=%.1f\nreport_warm_ms=%.1f\nreport_cached_ms=%.2f\n"
                "report_list_sessions_ms=%.2f\n",
                static_cast<long long>(rows), cold, median(warm), median(recount), median(list));
    std::fprintf(stderr,
                 "report_%s_rows_ms driver=%s cold=%.1f warm_median=%.1f cached_median=%.2f list_sessions_median=%.2f"
                 " fill=%.0f (cycle p50 %lld us, p99 %lld us)\n",
                 rows == 1000000 ? "1m" : std::to_string(rows).c_str(), driver.c_str(), cold, median(warm),
                 median(recount), median(list), fill_ms, static_cast<long long>(cycle.p50_us), static_cast<long long>(cycle.p99_us));
    // The bench's session is not a real one: remove it so the sessions list stays the users'.
    run_sql(config, "DELETE FROM messages WHERE session_id = " + std::to_string(session));
    run_sql(config, "DELETE FROM sessions WHERE session_id = " + std::to_string(session));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "report bench: " << e.what() << "\n";
    return 1;
  }
}
