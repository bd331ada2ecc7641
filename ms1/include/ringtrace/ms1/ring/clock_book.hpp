#pragma once
/// @file
/// What MS1 knows of its peers' clocks: MS2's from its own probes on the WebSocket, MS3's from
/// the estimates MS3 reports on /store. Live figures for the metrics and a session's start, and
/// the best of each session for its summary.

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "ringtrace/common/clock_offset.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/ms1/ring/session_types.hpp"

namespace ringtrace::ms1 {

/// The clock book. Plain state on the event loop (no locks, no I/O): the session runner feeds it
/// and reads it; every time is MS1's wall clock, passed in so tests choose it.
class ClockBook {
 public:
  /// One exchange with MS2 (MS2's clock minus MS1's); false when its stamps contradict causality.
  bool add_ms2_sample(const common::ClockSample& sample);
  /// MS3's estimate of **MS1's clock minus MS3's**, received at `now`: kept negated, as MS3's
  /// clock minus MS1's like every record here.
  void add_ms3_report(const common::ClockEstimate& report, common::Timestamp now);

  /// The current best of `clock`, or nullopt when there is none: MS2's from the probes of the
  /// last few seconds (they never stop while the link is up), MS3's latest report however old,
  /// because MS3 reports only while it forwards messages (its measured_at tells the age).
  [[nodiscard]] std::optional<ClockRecord> live(common::Hop clock, common::Timestamp now) const;
  /// live() of both clocks that have one, MS2 first: what a session starts with.
  [[nodiscard]] std::vector<ClockRecord> live_records(common::Timestamp now) const;

  /// A session begins: its best starts afresh, so an older exchange never stands for it.
  void begin(std::int64_t session);
  /// The session's best of each clock (the smallest uncertainty seen since begin()), or the
  /// latest estimate when none came in while it ran, MS2 first; what its summary records.
  [[nodiscard]] std::vector<ClockRecord> session_records() const;
  /// The session begin() was last called for; 0 before any.
  [[nodiscard]] std::int64_t session() const { return session_; }

  /// MS2 exchanges taken.
  [[nodiscard]] std::uint64_t ms2_samples() const { return ms2_.accepted(); }
  /// MS2 exchanges refused (a clock step mid-exchange).
  [[nodiscard]] std::uint64_t ms2_rejected() const { return ms2_.rejected(); }
  /// MS3 reports taken.
  [[nodiscard]] std::uint64_t ms3_reports() const { return ms3_reports_; }

 private:
  /// Keeps `record` as the session's best of its clock when it is tighter.
  void offer(const ClockRecord& record);

  common::ClockFilter ms2_;
  std::optional<ClockRecord> ms3_latest_;  ///< MS3's last report, already negated
  std::uint64_t ms3_reports_ = 0;
  std::int64_t session_ = 0;
  std::array<std::optional<ClockRecord>, 2> session_best_{};  ///< [0] MS2, [1] MS3
};

}  // namespace ringtrace::ms1
