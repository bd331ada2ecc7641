#pragma once
/// @file
/// The console's latency line after a session's finish line: its report, read like the
/// dashboard reads it, so the dashboard's first look at the session comes from the cache.

#include <cstdint>
#include <functional>

#include "ringtrace/ms1/reports/report_service.hpp"

namespace ringtrace::ms1 {

/// Prints `interaction latency: session_id=N …` (latency_line()) for a finished session.
class LatencyLine {
 public:
  /// `reports` must outlive it.
  explicit LatencyLine(ReportService& reports) : reports_(reports) {}

  /// Asks for session `session_id`'s report and prints its line (a warning when there is no
  /// report), then calls `done` on the reports' completion executor.
  void print(std::int64_t session_id, std::function<void()> done);

 private:
  ReportService& reports_;
};

}  // namespace ringtrace::ms1
