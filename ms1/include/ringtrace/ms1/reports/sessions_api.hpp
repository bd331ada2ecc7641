#pragma once
/// @file
/// The report routes of MS1, GET /sessions and GET /sessions/{id}.

#include <string_view>

#include "ringtrace/common/http_session.hpp"
#include "ringtrace/ms1/reports/report_service.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1 {

/// The report routes, one method each, as MS1's router tells them apart (so no handler reads
/// the path again to find out which it was asked).
class ReportRoutes {
 public:
  virtual ~ReportRoutes() = default;
  /// GET /sessions; `target` for its query.
  virtual void list(std::string_view target, common::Responder respond) = 0;
  /// GET /sessions/{id}; `target` for the id and the query.
  virtual void report(std::string_view target, common::Responder respond) = 0;
};

/// Turns report requests into ReportService jobs and their results into JSON. Runs on the event
/// loop; the answer comes once the report thread has it. 400 for a bad parameter, 404 for no such
/// session, 503 (Retry-After) while the database is away.
class SessionsApi final : public ReportRoutes {
 public:
  /// `reports` must outlive the handler.
  explicit SessionsApi(ReportService& reports) : reports_(reports) {}

  /// Newest first, a page of `limit` (20) before session `before`, with the next page's cursor.
  void list(std::string_view target, common::Responder respond) override;
  /// The session's report.
  void report(std::string_view target, common::Responder respond) override;

 private:
  ReportService& reports_;
};

}  // namespace ringtrace::ms1
