#include "ringtrace/ms1/reports/clock_correction.hpp"

#include <utility>

#include "report_sql.hpp"

namespace ringtrace::ms1 {

using common::Hop;

std::optional<std::size_t> clock_index(Hop clock) {
  switch (clock) {
    case Hop::kMs2: return 0;
    case Hop::kMs3: return 1;
    case Hop::kMs1:
    case Hop::kEnd: break;
  }
  return std::nullopt;
}

std::optional<Hop> clock_of_stamp(std::string_view stamp) {
  for (const auto naming : {common::Naming::kService, common::Naming::kMc}) {
    for (const auto clock : {Hop::kMs2, Hop::kMs3}) {
      if (common::field_name(naming, clock) == stamp) return clock;
    }
  }
  return std::nullopt;
}

void keep_clock(SessionClocks& clocks, std::string_view stamp, ClockRecord record, std::string_view naming) {
  const auto clock = clock_of_stamp(stamp);
  if (!clock) return;
  record.clock = *clock;
  auto& slot = clocks[*clock_index(*clock)];
  const auto own = common::parse_naming(naming);
  if (!slot || (own && common::field_name(*own, *clock) == stamp)) slot = record;
}

std::optional<LegShift> leg_shift(Leg leg, const SessionClocks& clocks) {
  const auto& ms2 = clocks[0];
  const auto& ms3 = clocks[1];
  switch (leg) {
    case Leg::kMs1ToMs2:
      if (ms2) return LegShift{ms2->offset_us, ms2->uncertainty_us};
      break;
    case Leg::kMs2ToMs3:
      if (ms2 && ms3) return LegShift{ms3->offset_us - ms2->offset_us, ms2->uncertainty_us + ms3->uncertainty_us};
      break;
    case Leg::kMs3ToMs1:
      if (ms3) return LegShift{-ms3->offset_us, ms3->uncertainty_us};
      break;
    case Leg::kCycle:
      if (ms2 || ms3) return LegShift{0, 0};
      break;
  }
  return std::nullopt;
}

std::array<std::optional<LegShift>, kLegCount> leg_shifts(const SessionClocks& clocks) {
  std::array<std::optional<LegShift>, kLegCount> out;
  for (std::size_t leg = 0; leg < kLegCount; ++leg) out[leg] = leg_shift(static_cast<Leg>(leg), clocks);
  return out;
}

bool below_uncertainty(std::int64_t corrected_us, std::int64_t uncertainty_us) {
  return corrected_us <= uncertainty_us;
}

namespace {

CorrectedLeg finished(LegStats stats, LegShift shift) {
  CorrectedLeg out;
  out.uncertainty_us = shift.uncertainty_us;
  out.below_uncertainty = stats.count > 0 && below_uncertainty(stats.p50_us, shift.uncertainty_us);
  out.stats = std::move(stats);
  return out;
}

}  // namespace

CorrectedLeg corrected_from_counts(const std::map<std::int64_t, std::int64_t>& counts, LegShift shift) {
  std::map<std::int64_t, std::int64_t> shifted;
  for (const auto& [value, count] : counts) shifted.emplace_hint(shifted.end(), value - shift.shift_us, count);
  return finished(detail::stats_from_counts(shifted), shift);
}

CorrectedLeg corrected_from_stats(const LegStats& raw, LegShift shift, std::vector<Bucket> buckets) {
  LegStats stats;
  stats.count = raw.count;
  if (raw.count > 0) {
    stats.min_us = raw.min_us - shift.shift_us;
    stats.p50_us = raw.p50_us - shift.shift_us;
    stats.p90_us = raw.p90_us - shift.shift_us;
    stats.p99_us = raw.p99_us - shift.shift_us;
    stats.max_us = raw.max_us - shift.shift_us;
    stats.buckets = std::move(buckets);
  }
  return finished(std::move(stats), shift);
}

std::optional<std::int64_t> corrected_value(std::optional<std::int64_t> raw_us, const std::optional<LegShift>& shift) {
  if (!raw_us || !shift) return std::nullopt;
  return *raw_us - shift->shift_us;
}

}  // namespace ringtrace::ms1
