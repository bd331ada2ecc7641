#pragma once
/// @file
/// Hop latencies corrected by the clock offsets the ring estimated, as plain arithmetic apart
/// from the databases that store the offsets and the renderings that show them.
///
/// With θ2 = MS2's clock − MS1's and θ3 = MS3's clock − MS1's (u2, u3 their uncertainties):
///
/// | leg        | corrected          | uncertainty |
/// |------------|--------------------|-------------|
/// | ms1_to_ms2 | raw − θ2           | u2          |
/// | ms2_to_ms3 | raw − θ3 + θ2      | u2 + u3     |
/// | ms3_to_ms1 | raw + θ3           | u3          |
/// | cycle      | raw (MS1's stamps) | 0           |
///
/// The corrected hops add up to the cycle. Shifting every value by one constant moves each
/// nearest-rank percentile, the minimum and the maximum by exactly that constant; only the
/// histogram has to be counted again.

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "ringtrace/common/message.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1 {

/// What a leg's raw latencies lose to the clocks: corrected = raw − shift_us, true within
/// ± uncertainty_us.
struct LegShift {
  std::int64_t shift_us = 0;        ///< subtracted from every raw latency of the leg
  std::int64_t uncertainty_us = 0;  ///< the correction's own error bound

  /// Field-wise equality.
  friend bool operator==(const LegShift&, const LegShift&) = default;
};

/// Where `clock`'s estimate sits in SessionClocks; nullopt for MS1's own stamps (kMs1, kEnd),
/// which need no correction.
std::optional<std::size_t> clock_index(common::Hop clock);

/// Which peer clock a stored `stamp` (clock_offsets.stamp, a timestamp column's name) is, in
/// either naming, so a report never depends on which naming wrote the row; nullopt otherwise.
std::optional<common::Hop> clock_of_stamp(std::string_view stamp);

/// Puts a stored estimate into `clocks`: `record.clock` is set from `stamp`, and a stamp that
/// names no peer clock is left out. A database used with both namings may hold both spellings
/// for one session; the spelling of the session's own `naming` (`service`, `mc`) then wins.
void keep_clock(SessionClocks& clocks, std::string_view stamp, ClockRecord record, std::string_view naming);

/// The shift of `leg`: nullopt when the session has no estimate at all, or lacks one that a
/// stamp of the leg needs; the cycle (MS1's stamps only) is {0, 0} once there is any.
std::optional<LegShift> leg_shift(Leg leg, const SessionClocks& clocks);

/// Each leg's shift, indexed by Leg.
std::array<std::optional<LegShift>, kLegCount> leg_shifts(const SessionClocks& clocks);

/// Whether a corrected latency is at or below its uncertainty: such a hop may be shorter
/// than the offsets can tell (zero or negative included).
bool below_uncertainty(std::int64_t corrected_us, std::int64_t uncertainty_us);

/// A leg's corrected figures from its raw (latency µs → messages) counts: every value shifted,
/// so the percentiles stay exact and the histogram is rebucketed from the shifted values.
CorrectedLeg corrected_from_counts(const std::map<std::int64_t, std::int64_t>& counts, LegShift shift);

/// A leg's corrected figures from its raw figures, for when the server ranked the rows itself:
/// count, min, percentiles and max shifted; `buckets` counted by the server over the shifted
/// values (they cannot be derived from the raw buckets).
CorrectedLeg corrected_from_stats(const LegStats& raw, LegShift shift, std::vector<Bucket> buckets);

/// One message's corrected leg: nullopt when the message lacks a stamp of it (`raw_us` empty)
/// or the leg has no shift.
std::optional<std::int64_t> corrected_value(std::optional<std::int64_t> raw_us, const std::optional<LegShift>& shift);

}  // namespace ringtrace::ms1
