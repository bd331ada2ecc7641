#pragma once
/// @file
/// ReportStore over libpq.

#include <string>

#include "ringtrace/ms1/db/postgres.hpp"
#include "ringtrace/ms1/reports/clock_correction.hpp"
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
  /// Runs `sql`; nullptr when a table is absent (no schema yet), throws StoreUnavailable or StoreError.
  PgResult query(const std::string& sql, const char* what);

  // The steps of session_report(), each in the report's snapshot; `id` is the session's, as SQL.
  /// latencies_ of session `id` as a subquery named m, for the queries that need every row's legs.
  std::string latency_rows(const std::string& id) const;
  /// The session's row; nullopt when there is none (or no schema yet).
  std::optional<SessionRow> read_session(const std::string& id);
  /// The session's clock offsets (either naming's spelling); none in a schema without the table.
  SessionClocks read_clocks(const std::string& id, const std::string& naming);
  /// The grouped scan read_value_counts() runs: (leg, µs, count) and (4, slice, count) rows, or a
  /// single (-1, 0, 0) beyond max_distinct_ values.
  std::string value_counts_sql(const std::string& id, int bucket_seconds) const;
  /// The usual strategy: the legs' figures (raw, and corrected by report.clocks) and the
  /// throughput from value counts, no sort of the rows; false (nothing filled) when there are
  /// too many distinct values or no messages table.
  bool read_value_counts(const std::string& id, SessionReport& report);
  /// The strategy beyond max_distinct_ values: the server ranks and buckets the rows itself.
  void read_ranked_figures(const std::string& id, SessionReport& report);
  /// Count, min, max and the nearest-rank percentiles of every leg, in one scan.
  void read_ranked_legs(const std::string& id, std::array<LegStats, kLegCount>& legs);
  /// Every leg's histogram, bucketed by the server, indexed by Leg; then, at kLegCount + leg, the
  /// histogram of each leg with a shift in `shifts` over its corrected values (empty without one).
  std::array<std::vector<Bucket>, 2 * kLegCount> read_histograms(
      const std::string& id, const std::array<std::optional<LegShift>, kLegCount>& shifts);
  /// Messages by throughput slice of their end stamp; nullopt when there is no messages table.
  std::optional<std::vector<ThroughputPoint>> read_throughput(const std::string& id, common::Timestamp started_at,
                                                              int bucket_seconds);
  /// The `slowest` messages by cycle, slowest first, their legs also corrected by `shifts`.
  std::vector<SlowMessage> read_slowest(const std::string& id, int slowest,
                                        const std::array<std::optional<LegShift>, kLegCount>& shifts);

  common::DatabaseConfig config_;
  common::Naming naming_;
  PgConn conn_;
  std::int64_t max_distinct_;
  std::string latencies_;  ///< SELECT of id, trace_id and the legs' µs (l0..l3) of session $S
};

}  // namespace ringtrace::ms1
