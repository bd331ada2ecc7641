#pragma once
/// @file
/// Reports read from the stored rows: the sessions list and one session's hop latencies, for the
/// dashboard, GET /sessions and the console's latency line. A connection of its own, so a report
/// on a large session never holds up the writer.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms1/ring/session_types.hpp"

namespace ringtrace::ms1 {

/// One row of the sessions table, as stored (open sessions have no outcome yet).
struct SessionRow {
  std::int64_t session_id = 0;                   ///< the session
  common::Timestamp started_at{};                ///< wall clock at start
  std::optional<common::Timestamp> finished_at;  ///< empty while open
  int duration_seconds = 0;                      ///< the interval asked for
  int window_size = 0;                           ///< messages in flight at once
  std::string naming;                            ///< `service` or `mc`
  std::optional<std::string> reason;             ///< `duration`, `stop`, `shutdown`, `interrupted`; empty while open
  std::optional<std::int64_t> sent;              ///< outcome counters, empty while open
  std::optional<std::int64_t> stored;            ///< (as recorded at finish)
  std::optional<std::int64_t> lost;              ///< at most once
  std::optional<std::int64_t> resent;            ///< at least once
  std::optional<double> elapsed_seconds;         ///< wall time from start to finish

  /// Field-wise equality (tests compare rows read two ways).
  friend bool operator==(const SessionRow&, const SessionRow&) = default;
};

/// The legs a report times: the three hops and the whole stamped cycle.
enum class Leg { kMs1ToMs2 = 0, kMs2ToMs3 = 1, kMs3ToMs1 = 2, kCycle = 3 };

/// Number of legs in a report.
inline constexpr std::size_t kLegCount = 4;

/// `ms1_to_ms2`, `ms2_to_ms3`, `ms3_to_ms1`, `cycle`: the spelling of the API and the console.
std::string_view to_string(Leg leg);

/// The stamps a leg runs between (from, to).
std::pair<common::Hop, common::Hop> leg_stamps(Leg leg);

/// Histogram buckets are a tenth of a decade wide in microseconds: bucket i holds latencies
/// in [10^(i/10), 10^((i+1)/10)) µs; latencies below 1 µs (also negative ones) fall in bucket 0.
/// Fixed bounds make any two sessions' histograms comparable.
int bucket_index(std::int64_t latency_us);
/// Lower bound of bucket `index`, in milliseconds.
double bucket_lower_ms(int index);
/// Upper bound of bucket `index`, in milliseconds.
double bucket_upper_ms(int index);

/// One histogram bucket (bucket_index) and the messages in it.
struct Bucket {
  int index = 0;           ///< see bucket_index
  std::int64_t count = 0;  ///< messages whose latency falls in it

  /// Field-wise equality.
  friend bool operator==(const Bucket&, const Bucket&) = default;
};

/// One leg's latencies over a session's stored rows that have both its stamps. Percentiles are
/// nearest-rank (PostgreSQL's percentile_disc): the smallest latency with at least p of the
/// values at or below it, so every figure is a latency some message really had.
struct LegStats {
  std::int64_t count = 0;   ///< rows with both stamps; the rest are meaningless when 0
  std::int64_t min_us = 0;  ///< smallest latency
  std::int64_t p50_us = 0;  ///< median
  std::int64_t p90_us = 0;  ///< 90th percentile
  std::int64_t p99_us = 0;  ///< 99th percentile
  std::int64_t max_us = 0;  ///< largest latency
  /// Ascending by index, from the lowest non-empty bucket to the highest, empty ones between
  /// included (a chart shows the gaps).
  std::vector<Bucket> buckets;

  /// Field-wise equality.
  friend bool operator==(const LegStats&, const LegStats&) = default;
};

/// Messages completed (MS1's end stamp) in one slice of the session.
struct ThroughputPoint {
  double t_seconds = 0;       ///< slice start, seconds after the session's started_at
  std::int64_t messages = 0;  ///< completed in [t, t + bucket_seconds)

  /// Field-wise equality.
  friend bool operator==(const ThroughputPoint&, const ThroughputPoint&) = default;
};

/// A leg's latencies corrected by the session's clock offsets (see clock_correction.hpp), so a
/// hop between two hosts whose clocks disagree reads as long as it was.
struct CorrectedLeg {
  LegStats stats;                  ///< every raw latency shifted by the offsets, histogram rebucketed
  std::int64_t uncertainty_us = 0;  ///< each corrected figure is true within ± this
  /// The corrected median is at or below the uncertainty: the hop is shorter than the offsets
  /// can tell, so its figures say little beyond that.
  bool below_uncertainty = false;

  /// Field-wise equality.
  friend bool operator==(const CorrectedLeg&, const CorrectedLeg&) = default;
};

/// Each peer clock's estimate over one session, indexed by clock_index(): MS2's, then MS3's;
/// empty where the session has none (older sessions have none at all).
using SessionClocks = std::array<std::optional<ClockRecord>, 2>;

/// One of the slowest messages of a session, with the trace to look at.
struct SlowMessage {
  std::int64_t id = 0;  ///< message id within the session
  std::array<std::int64_t, kLegCount> legs_us{};  ///< latency of each leg, indexed by Leg
  std::string trace_id;  ///< 32 lowercase hex, empty when the message was stored untraced
  /// Each leg corrected by the clock offsets, indexed by Leg; empty where the leg has no
  /// correction (SessionReport::corrected) or the message lacks one of its stamps.
  std::array<std::optional<std::int64_t>, kLegCount> corrected_us{};

  /// Field-wise equality.
  friend bool operator==(const SlowMessage&, const SlowMessage&) = default;
};

/// Everything the dashboard shows of one session.
struct SessionReport {
  SessionRow session;                         ///< the session's row
  std::array<LegStats, kLegCount> legs;       ///< indexed by Leg
  SessionClocks clocks;                       ///< the clock offsets stored for the session
  /// Each leg corrected by `clocks`, indexed by Leg; empty for a leg whose stamps need an
  /// estimate the session lacks, and for every leg when it has none (see leg_shift()).
  std::array<std::optional<CorrectedLeg>, kLegCount> corrected;
  /// Width of a throughput slice: 1 s, or wider so a long session has at most
  /// kMaxThroughputPoints slices (ceil(max(duration, elapsed) / kMaxThroughputPoints)).
  int bucket_seconds = 1;
  /// From t = 0 to the last slice holding a message, empty slices included.
  std::vector<ThroughputPoint> throughput;
  std::vector<SlowMessage> slowest;           ///< by cycle, slowest first (ties: lower id first)
};

/// Throughput slices a report has at most.
inline constexpr int kMaxThroughputPoints = 240;

/// The slice width of a session (see SessionReport::bucket_seconds).
int throughput_bucket_seconds(const SessionRow& row);

/// A read-only connection for reports. Synchronous and single-threaded: only the report thread
/// calls it. Throws StoreUnavailable (reconnect and retry) or StoreError, as MessageStore does.
class ReportStore {
 public:
  virtual ~ReportStore() = default;

  /// (Re)connects; does not create the schema (the writer does), and an absent table reads as empty.
  virtual void connect() = 0;

  /// Up to `limit` sessions, newest first; with `before`, only sessions whose id is below it
  /// (keyset pagination: stable while new sessions begin).
  virtual std::vector<SessionRow> list_sessions(std::optional<std::int64_t> before, int limit) = 0;

  /// The report of session `session_id`, with its `slowest` messages at most; nullopt when
  /// there is no such session. Works on an open (running) session: it reports the rows so far.
  virtual std::optional<SessionReport> session_report(std::int64_t session_id, int slowest) = 0;

  /// How many rows session `session_id` has (0 when none, or no schema yet): an index count,
  /// so a closed session's report can be kept until a late message adds a row.
  virtual std::int64_t stored_rows(std::int64_t session_id) = 0;
};

/// Builds the report store of `config.driver`, reading the stamp columns of `naming`; throws
/// ConfigError for an unknown driver.
std::unique_ptr<ReportStore> make_report_store(const common::DatabaseConfig& config, common::Naming naming);

}  // namespace ringtrace::ms1
