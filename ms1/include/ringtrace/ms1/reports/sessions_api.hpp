#pragma once
/// @file
/// The report routes of MS1, GET /sessions and GET /sessions/{id}.

#include "ringtrace/common/http_session.hpp"
#include "ringtrace/ms1/reports/report_service.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1 {

/// Turns report requests into ReportService jobs and their results into JSON. Runs on the event
/// loop; the answer comes once the report thread has it.
class SessionsApi final : public common::RequestHandler {
 public:
  /// `reports` must outlive the handler.
  explicit SessionsApi(ReportService& reports) : reports_(reports) {}

  /// GET /sessions (newest first, `limit` and `before`) and GET /sessions/{id}: 400 for a bad
  /// parameter, 404 for no such session, 503 (Retry-After) while the database is away.
  void handle(common::HttpRequest&& request, common::Responder respond) override;

 private:
  ReportService& reports_;
};

}  // namespace ringtrace::ms1
