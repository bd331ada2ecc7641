#include "ringtrace/ms1/reports/latency_line.hpp"

#include <utility>

#include <spdlog/spdlog.h>

#include "ringtrace/common/logging.hpp"
#include "ringtrace/ms1/reports/report_json.hpp"

namespace ringtrace::ms1 {

void LatencyLine::print(std::int64_t session_id, std::function<void()> done) {
  reports_.session_report(session_id, kSlowestMessages, [session_id, done = std::move(done)](
                                                            ReportResult<SessionReport> result) {
    if (result.outcome == ReportOutcome::kOk) {
      common::announce(latency_line(result.value));
    } else {
      spdlog::warn("session {}: no latency line: {}", session_id, result.error);
    }
    done();
  });
}

}  // namespace ringtrace::ms1
