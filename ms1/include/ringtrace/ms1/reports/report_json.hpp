#pragma once
/// @file
/// A report's renderings: the JSON the dashboard draws and the console's latency line, apart
/// from the routes and the finish hook that send them.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1 {

/// The legs in the order every rendering lists them.
inline constexpr std::array kLegs = {Leg::kMs1ToMs2, Leg::kMs2ToMs3, Leg::kMs3ToMs1, Leg::kCycle};

/// The body of GET /sessions: `rows` (at most the page asked for) and the `next_before` cursor,
/// which is the last row's id when `more` rows follow, else null.
std::string sessions_json(const std::vector<SessionRow>& rows, bool more);

/// The body of GET /sessions/{id}; latencies in milliseconds with microsecond precision, each
/// leg raw and corrected by the session's clock offsets (null without an estimate).
std::string report_json(const SessionReport& report);

/// `interaction latency: session_id=N ms1_to_ms2_p50_ms=X …`: each leg's p50 and p99 in
/// milliseconds with 3 decimals, `n/a` for a leg with no rows, then each leg's corrected p50 and
/// its uncertainty and `below_uncertainty=<legs>|none`, or `corrected=n/a` without a clock
/// estimate. Every key appears once. Printed after the finish line.
std::string latency_line(const SessionReport& report);

/// A latency of `us` microseconds in milliseconds, exactly: `1.500`, `-0.250`.
std::string ms_text(std::int64_t us);

}  // namespace ringtrace::ms1
