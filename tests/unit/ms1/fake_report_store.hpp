#pragma once
/// @file
/// A scriptable ReportStore for the tests of the report thread and the report routes: reports
/// are set by the test, the database can be taken down, every call is counted.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ringtrace/ms1/ring/message_store.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1::fakes {

/// The rows the fake reports from, and what it should do next. The report thread calls in
/// through FakeReportStore while the test thread scripts it, so every member is behind `mutex`.
struct FakeReports {
  std::mutex mutex;
  bool down = false;            ///< connect() and every query fail as an unreachable server does
  bool refuse = false;          ///< queries fail as a refused statement does
  int drops = 0;                ///< the next this many queries find the connection dropped
  int connects = 0;             ///< connect() calls that succeeded
  int queries = 0;              ///< queries answered
  std::vector<SessionRow> sessions;                ///< ascending by id
  std::map<std::int64_t, SessionReport> reports;   ///< by session id
  std::map<std::int64_t, std::int64_t> rows;       ///< stored_rows() by session id (absent: 0)
  int reports_read = 0;                            ///< session_report() calls answered
  int rows_counted = 0;                            ///< stored_rows() calls answered
  std::optional<std::int64_t> last_before;         ///< the last list_sessions() arguments
  int last_limit = 0;
  int last_slowest = 0;                            ///< the last session_report() argument

  /// Adds an open session `id` with plausible figures and an empty report.
  void add_session(std::int64_t id) {
    std::lock_guard lock(mutex);
    SessionRow row;
    row.session_id = id;
    row.started_at = common::Timestamp{std::chrono::microseconds(1'796'320'800'123'456 + id * 60'000'000)};
    row.duration_seconds = 10;
    row.window_size = 8;
    row.naming = "service";
    sessions.push_back(row);
    reports[id].session = row;
  }
  /// Closes session `id` (added before) after its ten seconds.
  void close(std::int64_t id) {
    std::lock_guard lock(mutex);
    auto& row = reports.at(id).session;
    row.finished_at = row.started_at + std::chrono::seconds(10);
    row.reason = "duration";
    for (auto& s : sessions) {
      if (s.session_id == id) s = row;
    }
  }
};

/// The ReportStore over a FakeReports (shared, so the test keeps scripting it after the move).
class FakeReportStore final : public ReportStore {
 public:
  explicit FakeReportStore(std::shared_ptr<FakeReports> db) : db_(std::move(db)) {}

  void connect() override {
    std::lock_guard lock(db_->mutex);
    if (db_->down) throw StoreUnavailable("connection refused");
    ++db_->connects;
  }

  std::vector<SessionRow> list_sessions(std::optional<std::int64_t> before, int limit) override {
    std::lock_guard lock(db_->mutex);
    check();
    db_->last_before = before;
    db_->last_limit = limit;
    std::vector<SessionRow> out;
    for (auto it = db_->sessions.rbegin(); it != db_->sessions.rend() && static_cast<int>(out.size()) < limit; ++it) {
      if (!before || it->session_id < *before) out.push_back(*it);
    }
    return out;
  }

  std::optional<SessionReport> session_report(std::int64_t session_id, int slowest) override {
    std::lock_guard lock(db_->mutex);
    check();
    db_->last_slowest = slowest;
    const auto it = db_->reports.find(session_id);
    if (it == db_->reports.end()) return std::nullopt;
    ++db_->reports_read;
    return it->second;
  }

  std::int64_t stored_rows(std::int64_t session_id) override {
    std::lock_guard lock(db_->mutex);
    check();
    ++db_->rows_counted;
    const auto it = db_->rows.find(session_id);
    return it == db_->rows.end() ? 0 : it->second;
  }

 private:
  void check() {
    if (db_->drops > 0) {
      --db_->drops;
      throw StoreUnavailable("server closed the connection");
    }
    if (db_->down) throw StoreUnavailable("no connection");
    if (db_->refuse) throw StoreError("relation \"messages\" is broken");
    ++db_->queries;
  }

  std::shared_ptr<FakeReports> db_;
};

}  // namespace ringtrace::ms1::fakes
