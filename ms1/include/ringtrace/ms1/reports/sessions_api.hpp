#pragma once
/// @file
/// The report routes of MS1, GET /sessions and GET /sessions/{id}, and the report's renderings:
/// the JSON the dashboard draws and the console's latency line.

#include <string>
#include <vector>

#include "ringtrace/common/http_session.hpp"
#include "ringtrace/ms1/reports/report_service.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1 {

/// Slowest messages a report lists.
inline constexpr int kSlowestMessages = 10;

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

/// The body of GET /sessions: `rows` (at most the page asked for) and the `next_before` cursor,
/// which is the last row's id when `more` rows follow, else null.
std::string sessions_json(const std::vector<SessionRow>& rows, bool more);

/// The body of GET /sessions/{id}; latencies in milliseconds with microsecond precision.
std::string report_json(const SessionReport& report);

/// `interaction latency: session_id=N ms1_to_ms2_p50_ms=X …`: each leg's p50 and p99 in
/// milliseconds with 3 decimals, `n/a` for a leg with no rows. Printed after the finish line.
std::string latency_line(const SessionReport& report);

/// A latency of `us` microseconds in milliseconds, exactly: `1.500`, `-0.250`.
std::string ms_text(std::int64_t us);

}  // namespace ringtrace::ms1
