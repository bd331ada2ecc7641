#include "ringtrace/ms1/reports/report_store.hpp"

#include <algorithm>
#include <cmath>

#include "ringtrace/ms1/reports/mariadb_report.hpp"
#include "ringtrace/ms1/reports/postgres_report.hpp"
#include "report_sql.hpp"

namespace ringtrace::ms1 {

namespace {

using common::Hop;

/// ceil(10^(i/10)) for i = 0..189, computed exactly with integer arithmetic (the smallest n with
/// n^10 >= 10^i), so no bound depends on a libm's rounding.
constexpr std::array<std::int64_t, detail::kBucketCount> kLowerUs{
    1, 2, 2, 2, 3, 4,
    4, 6, 7, 8, 10, 13,
    16, 20, 26, 32, 40, 51,
    64, 80, 100, 126, 159, 200,
    252, 317, 399, 502, 631, 795,
    1000, 1259, 1585, 1996, 2512, 3163,
    3982, 5012, 6310, 7944, 10000, 12590,
    15849, 19953, 25119, 31623, 39811, 50119,
    63096, 79433, 100000, 125893, 158490, 199527,
    251189, 316228, 398108, 501188, 630958, 794329,
    1000000, 1258926, 1584894, 1995263, 2511887, 3162278,
    3981072, 5011873, 6309574, 7943283, 10000000, 12589255,
    15848932, 19952624, 25118865, 31622777, 39810718, 50118724,
    63095735, 79432824, 100000000, 125892542, 158489320, 199526232,
    251188644, 316227767, 398107171, 501187234, 630957345, 794328235,
    1000000000, 1258925412, 1584893193, 1995262315, 2511886432, 3162277661,
    3981071706, 5011872337, 6309573445, 7943282348, 10000000000, 12589254118,
    15848931925, 19952623150, 25118864316, 31622776602, 39810717056, 50118723363,
    63095734449, 79432823473, 100000000000, 125892541180, 158489319247, 199526231497,
    251188643151, 316227766017, 398107170554, 501187233628, 630957344481, 794328234725,
    1000000000000, 1258925411795, 1584893192462, 1995262314969, 2511886431510, 3162277660169,
    3981071705535, 5011872336273, 6309573444802, 7943282347243, 10000000000000, 12589254117942,
    15848931924612, 19952623149689, 25118864315096, 31622776601684, 39810717055350, 50118723362728,
    63095734448020, 79432823472429, 100000000000000, 125892541179417, 158489319246112, 199526231496888,
    251188643150959, 316227766016838, 398107170553498, 501187233627273, 630957344480194, 794328234724282,
    1000000000000000, 1258925411794168, 1584893192461114, 1995262314968880, 2511886431509581, 3162277660168380,
    3981071705534973, 5011872336272723, 6309573444801933, 7943282347242816, 10000000000000000, 12589254117941673,
    15848931924611135, 19952623149688797, 25118864315095802, 31622776601683794, 39810717055349726, 50118723362727229,
    63095734448019325, 79432823472428151, 100000000000000000, 125892541179416722, 158489319246111349, 199526231496887961,
    251188643150958012, 316227766016837934, 398107170553497251, 501187233627272286, 630957344480193250, 794328234724281503,
    1000000000000000000, 1258925411794167211, 1584893192461113486, 1995262314968879602, 2511886431509580112, 3162277660168379332,
    3981071705534972508, 5011872336272722851, 6309573444801932495, 7943282347242815021,
};

static_assert(kLowerUs[0] == 1 && kLowerUs[10] == 10 && kLowerUs[30] == 1000 && kLowerUs[180] == 1000000000000000000);

}  // namespace

std::string_view to_string(Leg leg) {
  switch (leg) {
    case Leg::kMs1ToMs2: return "ms1_to_ms2";
    case Leg::kMs2ToMs3: return "ms2_to_ms3";
    case Leg::kMs3ToMs1: return "ms3_to_ms1";
    case Leg::kCycle: return "cycle";
  }
  return "unknown";
}

std::pair<Hop, Hop> leg_stamps(Leg leg) {
  switch (leg) {
    case Leg::kMs1ToMs2: return {Hop::kMs1, Hop::kMs2};
    case Leg::kMs2ToMs3: return {Hop::kMs2, Hop::kMs3};
    case Leg::kMs3ToMs1: return {Hop::kMs3, Hop::kEnd};
    case Leg::kCycle: break;
  }
  return {Hop::kMs1, Hop::kEnd};
}

int bucket_index(std::int64_t latency_us) {
  // Bounds 1..189 at or below the latency; bucket 0 also takes everything below 10^0.1 µs.
  const auto* first = kLowerUs.data() + 1;
  return static_cast<int>(std::upper_bound(first, kLowerUs.data() + kLowerUs.size(), latency_us) - first);
}

double bucket_lower_ms(int index) { return std::pow(10.0, index / 10.0) / 1000.0; }

double bucket_upper_ms(int index) { return bucket_lower_ms(index + 1); }

int throughput_bucket_seconds(const SessionRow& row) {
  const double span = std::max<double>(row.duration_seconds, row.elapsed_seconds.value_or(0.0));
  const double width = std::ceil(span / kMaxThroughputPoints);
  return std::max(1, static_cast<int>(width));
}

std::unique_ptr<ReportStore> make_report_store(const common::DatabaseConfig& config, common::Naming naming) {
  if (config.driver == "postgresql") return std::make_unique<PostgresReport>(config, naming);
  if (config.driver == "mariadb") return std::make_unique<MariaDbReport>(config, naming);
  throw common::ConfigError("database.driver: unsupported driver '" + config.driver + "'");
}

namespace detail {

std::span<const std::int64_t, kBucketCount> bucket_lower_us() { return kLowerUs; }

std::vector<Bucket> dense_buckets(const std::map<int, std::int64_t>& counts) {
  std::vector<Bucket> out;
  if (counts.empty()) return out;
  const int first = counts.begin()->first;
  const int last = counts.rbegin()->first;
  out.reserve(static_cast<std::size_t>(last - first + 1));
  for (int i = first; i <= last; ++i) {
    const auto it = counts.find(i);
    out.push_back({i, it == counts.end() ? 0 : it->second});
  }
  return out;
}

LegStats stats_from_counts(const std::map<std::int64_t, std::int64_t>& value_counts) {
  LegStats s;
  for (const auto& [value, count] : value_counts) s.count += count;
  if (s.count == 0) return s;
  s.min_us = value_counts.begin()->first;
  s.max_us = value_counts.rbegin()->first;
  std::array<std::int64_t*, kPercentiles.size()> out{&s.p50_us, &s.p90_us, &s.p99_us};
  std::array<std::int64_t, kPercentiles.size()> rank{};
  for (std::size_t i = 0; i < kPercentiles.size(); ++i) rank[i] = nearest_rank(s.count, kPercentiles[i], 100);
  std::map<int, std::int64_t> buckets;
  std::int64_t seen = 0;
  for (const auto& [value, count] : value_counts) {
    for (std::size_t i = 0; i < rank.size(); ++i) {
      if (seen < rank[i] && seen + count >= rank[i]) *out[i] = value;
    }
    seen += count;
    buckets[bucket_index(value)] += count;
  }
  s.buckets = dense_buckets(buckets);
  return s;
}

std::vector<ThroughputPoint> dense_throughput(const std::map<std::int64_t, std::int64_t>& counts, int bucket_seconds) {
  std::vector<ThroughputPoint> out;
  if (counts.empty()) return out;
  const auto last = std::min<std::int64_t>(counts.rbegin()->first, kMaxThroughputSlice);
  out.reserve(static_cast<std::size_t>(last + 1));
  for (std::int64_t slice = 0; slice <= last; ++slice) {
    const auto it = counts.find(slice);
    out.push_back({static_cast<double>(slice * bucket_seconds), it == counts.end() ? 0 : it->second});
  }
  return out;
}

}  // namespace detail

}  // namespace ringtrace::ms1
