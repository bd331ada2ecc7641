#pragma once
/// @file
/// ReportStore over libpq.

#include <string>

#include "ringtrace/ms1/db/postgres.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1 {

/// PostgreSQL reports: one read-only connection of its own; a report is a few aggregate queries
/// in one repeatable-read snapshot, so its figures agree with each other on a running session.
class PostgresReport final : public ReportStore {
 public:
  /// Nothing connects until connect(). With more than `max_distinct` distinct (leg, latency)
  /// values the server sorts and buckets instead of shipping value counts (tests force either way).
  PostgresReport(common::DatabaseConfig config, common::Naming naming, std::int64_t max_distinct = 200000);

  void connect() override;
  std::vector<SessionRow> list_sessions(std::optional<std::int64_t> before, int limit) override;
  std::optional<SessionReport> session_report(std::int64_t session_id, int slowest) override;
  std::int64_t stored_rows(std::int64_t session_id) override;

 private:
  struct ResultCloser {
    void operator()(PGresult* res) const { PQclear(res); }
  };
  using Result = std::unique_ptr<PGresult, ResultCloser>;

  /// Runs `sql`; nullptr when a table is absent (no schema yet), throws StoreUnavailable or StoreError.
  Result query(const std::string& sql, const char* what);
  /// Runs `sql` in the snapshot the report reads.
  Result must(const std::string& sql, const char* what);

  common::DatabaseConfig config_;
  common::Naming naming_;
  PgConn conn_;
  std::int64_t max_distinct_;
  std::string latencies_;  ///< SELECT of id, trace_id and the legs' µs (l0..l3) of session $S
};

}  // namespace ringtrace::ms1
