#pragma once
// Shared by the report stores of both databases (private to ms1_lib): the bucket bounds in
// integer microseconds, the SQL text both spell alike, and the assembly of what the SQL returns
// into a SessionReport.

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1::detail {

/// Buckets a latency can fall in: 10^(189/10) µs is the last lower bound an int64 holds.
inline constexpr int kBucketCount = 190;

/// Lower bounds of the buckets as whole microseconds: element i is the smallest integer at or
/// above 10^(i/10), so for an integer latency l, "l >= 10^(i/10)" is exactly "l >= element i".
/// SQL compares against these integers, never a logarithm, so it agrees with bucket_index().
std::span<const std::int64_t, kBucketCount> bucket_lower_us();

/// Nearest rank of percentile num/den among n values (1-based): ceil(n * num / den).
constexpr std::int64_t nearest_rank(std::int64_t n, std::int64_t num, std::int64_t den) {
  return (n * num + den - 1) / den;
}

/// Percentiles a report gives, as num/100.
inline constexpr std::array<int, 3> kPercentiles{50, 90, 99};

/// Distinct values a report reads as (value, count) pairs at most; beyond, the database computes
/// the figures itself (sorts), which is slower but keeps the answer small.
inline constexpr std::int64_t kMaxDistinctValues = 200000;

/// All of a leg's figures from its distinct latencies and how often each occurred (exact: the
/// nearest ranks are found by walking the cumulative counts, buckets by bucket_index()).
LegStats stats_from_counts(const std::map<std::int64_t, std::int64_t>& value_counts);

/// A leg's buckets from the non-empty (index → count) pairs SQL returns, gaps filled with zeros.
std::vector<Bucket> dense_buckets(const std::map<int, std::int64_t>& counts);

/// The last slice a timeline shows: messages stamped far past the session's end (a clock set
/// wrong) are left out rather than stretching the timeline without bound.
inline constexpr std::int64_t kMaxThroughputSlice = 4 * kMaxThroughputPoints;

/// "SELECT id, trace_id, <leg 0 µs> AS l0, ..., <leg 3 µs> AS l3 FROM messages WHERE session_id = ",
/// to be followed by the session's id: both databases name each message's leg latencies l0..l3,
/// so the queries built on it read alike. `quote` spells a column name and `micros(a, b)` the
/// exact microseconds from stamp a to stamp b, each in the database's dialect.
template <typename Quote, typename Micros>
std::string latencies_sql(common::Naming naming, Quote quote, Micros micros) {
  std::string sql = "SELECT id, trace_id";
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    const auto [from, to] = leg_stamps(static_cast<Leg>(leg));
    sql += ", " + micros(quote(common::field_name(naming, from)), quote(common::field_name(naming, to))) + " AS l" +
           std::to_string(leg);
  }
  return sql + " FROM messages WHERE session_id = ";
}

/// Throughput points from the non-empty (slice → messages) pairs, from slice 0 to the last
/// (at most kMaxThroughputSlice); slices before 0 are never asked for (SQL counts them in 0).
std::vector<ThroughputPoint> dense_throughput(const std::map<std::int64_t, std::int64_t>& counts, int bucket_seconds);

}  // namespace ringtrace::ms1::detail
