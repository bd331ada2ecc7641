#pragma once
/// @file
/// ReportStore over MariaDB Connector/C.

#include <mysql.h>

#include <map>
#include <memory>
#include <string>

#include "ringtrace/ms1/reports/clock_correction.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1 {

/// MariaDB reports: one read-only connection of its own; a report is a few aggregate queries in
/// one consistent snapshot, so its figures agree with each other on a running session.
class MariaDbReport final : public ReportStore {
 public:
  /// Nothing connects until connect(). A leg with more than `max_distinct` distinct latencies is
  /// ranked and bucketed by the server instead of from its value counts (tests force either way).
  MariaDbReport(common::DatabaseConfig config, common::Naming naming, std::int64_t max_distinct = 200000);
  ~MariaDbReport() override;
  MariaDbReport(const MariaDbReport&) = delete;
  MariaDbReport& operator=(const MariaDbReport&) = delete;

  void connect() override;
  std::vector<SessionRow> list_sessions(std::optional<std::int64_t> before, int limit) override;
  std::optional<SessionReport> session_report(std::int64_t session_id, int slowest) override;
  std::int64_t stored_rows(std::int64_t session_id) override;

 private:
  struct ResultCloser {
    void operator()(MYSQL_RES* res) const { mysql_free_result(res); }
  };
  using Result = std::unique_ptr<MYSQL_RES, ResultCloser>;

  /// Runs `sql`; an empty result when a table is absent (no schema yet) or the statement returns
  /// no rows; throws StoreUnavailable or StoreError.
  Result query(const std::string& sql, const char* what, bool* absent = nullptr);
  void disconnect();

  // The steps of session_report(), each in the report's snapshot; `id` is the session's, as SQL.
  /// The session's row; nullopt when there is none (or no schema yet).
  std::optional<SessionRow> read_session(const std::string& id);
  /// The session's clock offsets (either naming's spelling); none in a schema without the table.
  SessionClocks read_clocks(const std::string& id, const std::string& naming);
  /// One leg's figures over session `session_id`'s rows into `report`: raw, and corrected by
  /// `shift` when there is one.
  void leg_stats(Leg leg, const std::string& session_id, const std::optional<LegShift>& shift, SessionReport& report);
  /// The usual strategy: a leg's (latency µs → messages) counts, from which every figure
  /// follows with no sort of the rows; nullopt beyond max_distinct_ values. `us` is the leg's
  /// latency, `where` the FROM and WHERE of its rows.
  std::optional<std::map<std::int64_t, std::int64_t>> read_leg_value_counts(const std::string& us,
                                                                            const std::string& where);
  /// The strategy beyond max_distinct_ values: the server ranks and buckets the leg's rows itself;
  /// with a `shift`, `shifted` gets the histogram of the corrected values from the same scan.
  LegStats read_ranked_leg(const std::string& us, const std::string& where, const std::optional<LegShift>& shift,
                           std::vector<Bucket>& shifted);
  /// Messages by throughput slice of their end stamp.
  std::vector<ThroughputPoint> read_throughput(const std::string& id, common::Timestamp started_at, int bucket_seconds);
  /// The `slowest` messages by cycle, slowest first, their legs also corrected by `shifts`.
  std::vector<SlowMessage> read_slowest(const std::string& id, int slowest,
                                        const std::array<std::optional<LegShift>, kLegCount>& shifts);

  common::DatabaseConfig config_;
  common::Naming naming_;
  MYSQL* conn_ = nullptr;
  std::int64_t max_distinct_;
};

}  // namespace ringtrace::ms1
