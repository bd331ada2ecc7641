#include "ringtrace/ms1/ring/clock_book.hpp"

namespace ringtrace::ms1 {

namespace {

std::size_t index_of(common::Hop clock) { return clock == common::Hop::kMs2 ? 0 : 1; }

ClockRecord record_of(common::Hop clock, const common::ClockEstimate& e) {
  return {clock, e.offset_us, e.uncertainty_us, e.samples, e.measured_at};
}

}  // namespace

bool ClockBook::add_ms2_sample(const common::ClockSample& sample) {
  if (!ms2_.add(sample)) return false;
  // The filter's best after this sample is what MS1 would record now, so a session that ends
  // between two slots still has the tightest exchange it saw.
  if (auto best = ms2_.best(sample.t4)) offer(record_of(common::Hop::kMs2, *best));
  return true;
}

void ClockBook::add_ms3_report(const common::ClockEstimate& report, common::Timestamp now) {
  ++ms3_reports_;
  ms3_latest_ = ClockRecord{common::Hop::kMs3, -report.offset_us, report.uncertainty_us, report.samples, now};
  offer(*ms3_latest_);
}

std::optional<ClockRecord> ClockBook::live(common::Hop clock, common::Timestamp now) const {
  if (clock == common::Hop::kMs2) {
    auto best = ms2_.best(now);
    if (!best) return std::nullopt;
    return record_of(clock, *best);
  }
  if (clock != common::Hop::kMs3) return std::nullopt;
  return ms3_latest_;
}

std::vector<ClockRecord> ClockBook::live_records(common::Timestamp now) const {
  std::vector<ClockRecord> records;
  for (auto clock : {common::Hop::kMs2, common::Hop::kMs3}) {
    if (auto record = live(clock, now)) records.push_back(*record);
  }
  return records;
}

void ClockBook::begin(std::int64_t session) {
  session_ = session;
  session_best_ = {};
}

std::vector<ClockRecord> ClockBook::session_records() const {
  std::vector<ClockRecord> records;
  if (session_best_[0]) {
    records.push_back(*session_best_[0]);
  } else if (auto best = ms2_.best()) {
    records.push_back(record_of(common::Hop::kMs2, *best));
  }
  if (session_best_[1]) {
    records.push_back(*session_best_[1]);
  } else if (ms3_latest_) {
    records.push_back(*ms3_latest_);
  }
  return records;
}

void ClockBook::offer(const ClockRecord& record) {
  auto& best = session_best_[index_of(record.clock)];
  if (!best || record.uncertainty_us <= best->uncertainty_us) best = record;
}

}  // namespace ringtrace::ms1
