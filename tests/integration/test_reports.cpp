// Reports on the real PostgreSQL and MariaDB: sessions written by the real stores, then every
// figure of session_report and list_sessions checked against a small set computed by hand and
// a larger one computed here from the raw stamps, read back with SQL this test runs itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <tuple>

#include "../../ms1/src/reports/report_sql.hpp"
#include "ringtrace/ms1/reports/mariadb_report.hpp"
#include "ringtrace/ms1/ring/message_store.hpp"
#include "ringtrace/ms1/reports/postgres_report.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"
#include "ringtrace/test/database.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using common::Hop;
using common::Naming;
using common::Timestamp;
using std::chrono::microseconds;
using test::Backend;
using test::Inspector;

namespace ringtrace::ms1 {
/// Prints a session row readably when a comparison fails (gtest would dump its bytes).
void PrintTo(const SessionRow& row, std::ostream* out) {
  const auto opt = [](const auto& value) {
    std::ostringstream text;
    if (value) {
      text << *value;
    } else {
      text << "-";
    }
    return text.str();
  };
  *out << "{session " << row.session_id << ", started " << common::format_timestamp(row.started_at) << ", finished "
       << (row.finished_at ? common::format_timestamp(*row.finished_at) : "-") << ", " << row.duration_seconds
       << " s, window " << row.window_size << ", " << row.naming << ", reason " << opt(row.reason) << ", sent "
       << opt(row.sent) << ", stored " << opt(row.stored) << ", lost " << opt(row.lost) << ", resent "
       << opt(row.resent) << ", elapsed " << opt(row.elapsed_seconds) << "}";
}
}  // namespace ringtrace::ms1

namespace {

/// A row to store: its stamps as offsets in µs from the session's start (nullopt: not stamped).
struct Planned {
  std::int64_t id;
  std::array<std::optional<std::int64_t>, common::kHopCount> at;
  common::tracing::TraceId trace{};
};

/// One stored row as this test reads it back: stamps parsed from the database's own text.
struct RawRow {
  std::int64_t id = 0;
  std::array<std::optional<Timestamp>, common::kHopCount> stamps;
  std::string trace_id;
};

std::optional<std::int64_t> leg_of(const RawRow& r, Leg leg) {
  const auto [from, to] = leg_stamps(leg);
  const auto& a = r.stamps[static_cast<std::size_t>(from)];
  const auto& b = r.stamps[static_cast<std::size_t>(to)];
  if (!a || !b) return std::nullopt;
  return (*b - *a).count();
}

/// The leg figures computed here, from the values themselves.
LegStats expected_stats(std::vector<std::int64_t> values) {
  LegStats s;
  s.count = static_cast<std::int64_t>(values.size());
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const auto at_rank = [&](int p) {  // nearest rank: the ceil(n p / 100)-th smallest
    const auto rank = (s.count * p + 99) / 100;
    return values[static_cast<std::size_t>(rank - 1)];
  };
  s.min_us = values.front();
  s.max_us = values.back();
  s.p50_us = at_rank(50);
  s.p90_us = at_rank(90);
  s.p99_us = at_rank(99);
  std::map<int, std::int64_t> counts;
  for (const auto v : values) ++counts[bucket_index(v)];
  for (int i = counts.begin()->first; i <= counts.rbegin()->first; ++i) {
    s.buckets.push_back({i, counts.count(i) ? counts[i] : 0});
  }
  return s;
}

/// Parameters: the server, the naming, and whether the server sorts (the path of a session with
/// too many distinct latencies to ship their counts) instead of returning value counts.
class ReportTest : public ::testing::TestWithParam<std::tuple<std::string, Naming, bool>> {
 protected:
  void SetUp() override {
    try {
      store_ = make_store(backend_.config(), naming());
      store_->connect();
      const std::int64_t max_distinct = std::get<2>(GetParam()) ? 0 : detail::kMaxDistinctValues;
      if (backend_.driver == "postgresql") {
        reports_ = std::make_unique<PostgresReport>(backend_.config(), naming(), max_distinct);
      } else {
        reports_ = std::make_unique<MariaDbReport>(backend_.config(), naming(), max_distinct);
      }
      reports_->connect();
      db_ = std::make_unique<Inspector>(backend_);
    } catch (const std::exception& e) {
      FAIL() << backend_.driver << " is required (scripts/infra.sh up): " << e.what();
    }
    if (backend_.driver == "mariadb") db_->scalar("SET SESSION group_concat_max_len = 67108864");
  }
  [[nodiscard]] Naming naming() const { return std::get<1>(GetParam()); }
  [[nodiscard]] std::string column(Hop hop) const { return backend_.quote(common::field_name(naming(), hop)); }

  /// A new session starting at `start`, with `plan` stored through the real store, and `clocks`
  /// written with its row.
  std::int64_t session(Timestamp start, const std::vector<Planned>& plan, int duration = 10, int window = 3,
                       const std::vector<ClockRecord>& clocks = {}) {
    const auto id = store_->begin_session({duration, window}, start, clocks);
    std::vector<StoreRow> rows;
    for (const auto& p : plan) {
      StoreRow row;
      row.message.session_id = id;
      row.message.id = p.id;
      for (std::size_t h = 0; h < common::kHopCount; ++h) {
        if (p.at[h]) row.message.stamps[h] = start + microseconds(*p.at[h]);
      }
      row.trace_id = p.trace;
      rows.push_back(std::move(row));
      if (rows.size() == 500) {
        store_->store(rows);
        rows.clear();
      }
    }
    if (!rows.empty()) store_->store(rows);
    return id;
  }

  /// The session's rows as stored, read with SQL of this test (the stamps as text, parsed here).
  std::vector<RawRow> raw_rows(std::int64_t session) {
    std::string fields = "concat(id, '|'";
    for (std::size_t h = 0; h < common::kHopCount; ++h) {
      fields += ", COALESCE(" + backend_.as_text(column(static_cast<Hop>(h))) + ", ''), '|'";
    }
    fields += ", COALESCE(trace_id, ''))";
    const auto where = " FROM messages WHERE session_id = " + std::to_string(session);
    const auto text = db_->scalar(backend_.driver == "postgresql" ? "SELECT string_agg(" + fields + ", ';')" + where
                                                                   : "SELECT GROUP_CONCAT(" + fields + " SEPARATOR ';')" + where);
    std::vector<RawRow> rows;
    if (text == "NULL" || text.empty()) return rows;
    std::stringstream all(text);
    std::string line;
    while (std::getline(all, line, ';')) {
      std::stringstream parts(line);
      std::string part;
      RawRow r;
      std::getline(parts, part, '|');
      r.id = std::stoll(part);
      for (auto& stamp : r.stamps) {
        std::getline(parts, part, '|');
        if (!part.empty()) stamp = common::parse_timestamp(part);
      }
      std::getline(parts, r.trace_id, '|');
      rows.push_back(std::move(r));
    }
    return rows;
  }

  /// The session's clock offsets as stored, read with SQL of this test: stamp → (offset,
  /// uncertainty, samples, measured_at as text).
  std::map<std::string, std::tuple<std::int64_t, std::int64_t, std::int64_t, std::string>> stored_clocks(std::int64_t session) {
    const std::string fields = "concat(stamp, '|', offset_us, '|', uncertainty_us, '|', samples, '|', " +
                               backend_.as_text("measured_at") + ")";
    const auto where = " FROM clock_offsets WHERE session_id = " + std::to_string(session);
    const auto text = db_->scalar(backend_.driver == "postgresql" ? "SELECT string_agg(" + fields + ", ';')" + where
                                                                   : "SELECT GROUP_CONCAT(" + fields + " SEPARATOR ';')" + where);
    std::map<std::string, std::tuple<std::int64_t, std::int64_t, std::int64_t, std::string>> out;
    if (text == "NULL" || text.empty()) return out;
    std::stringstream all(text);
    std::string line;
    while (std::getline(all, line, ';')) {
      std::stringstream parts(line);
      std::string stamp, offset, uncertainty, samples, measured;
      std::getline(parts, stamp, '|');
      std::getline(parts, offset, '|');
      std::getline(parts, uncertainty, '|');
      std::getline(parts, samples, '|');
      std::getline(parts, measured, '|');
      out[stamp] = {std::stoll(offset), std::stoll(uncertainty), std::stoll(samples), measured};
    }
    return out;
  }

  /// Each leg's (shift, uncertainty) from the stored clocks, by the correction table, written out
  /// here apart from the report's own arithmetic; nullopt where an estimate is missing.
  std::array<std::optional<std::pair<std::int64_t, std::int64_t>>, kLegCount> expected_shifts(std::int64_t session) {
    const auto stored = stored_clocks(session);
    const auto find = [&](Hop hop) -> std::optional<std::pair<std::int64_t, std::int64_t>> {
      for (const auto n : {naming(), naming() == Naming::kService ? Naming::kMc : Naming::kService}) {
        const auto it = stored.find(std::string(common::field_name(n, hop)));
        if (it != stored.end()) return std::make_pair(std::get<0>(it->second), std::get<1>(it->second));
      }
      return std::nullopt;
    };
    const auto t2 = find(Hop::kMs2);
    const auto t3 = find(Hop::kMs3);
    std::array<std::optional<std::pair<std::int64_t, std::int64_t>>, kLegCount> out;
    if (t2) out[0] = std::make_pair(t2->first, t2->second);                                        // raw − θ2
    if (t2 && t3) out[1] = std::make_pair(t3->first - t2->first, t2->second + t3->second);         // raw − θ3 + θ2
    if (t3) out[2] = std::make_pair(-t3->first, t3->second);                                       // raw + θ3
    if (t2 || t3) out[3] = std::make_pair(std::int64_t{0}, std::int64_t{0});                        // MS1's clock
    return out;
  }

  Timestamp started_at(std::int64_t session) {
    const auto text =
        db_->scalar("SELECT " + backend_.as_text("started_at") + " FROM sessions WHERE session_id = " + std::to_string(session));
    return common::parse_timestamp(text).value();
  }

  /// Everything the report of `session` should say, computed here from its raw rows.
  void expect_matches_raw(std::int64_t session, const SessionReport& report, int slowest) {
    const auto rows = raw_rows(session);
    const auto shifts = expected_shifts(session);
    for (std::size_t leg = 0; leg < kLegCount; ++leg) {
      std::vector<std::int64_t> values;
      for (const auto& r : rows) {
        if (const auto v = leg_of(r, static_cast<Leg>(leg))) values.push_back(*v);
      }
      EXPECT_EQ(report.legs[leg], expected_stats(values)) << to_string(static_cast<Leg>(leg));
      // Corrected: every value less the leg's shift, counted again from scratch.
      ASSERT_EQ(report.corrected[leg].has_value(), shifts[leg].has_value()) << to_string(static_cast<Leg>(leg));
      if (!shifts[leg]) continue;
      for (auto& v : values) v -= shifts[leg]->first;
      const auto& corrected = *report.corrected[leg];
      EXPECT_EQ(corrected.stats, expected_stats(values)) << to_string(static_cast<Leg>(leg));
      EXPECT_EQ(corrected.uncertainty_us, shifts[leg]->second) << to_string(static_cast<Leg>(leg));
      EXPECT_EQ(corrected.below_uncertainty, !values.empty() && corrected.stats.p50_us <= shifts[leg]->second)
          << to_string(static_cast<Leg>(leg));
    }
    // Throughput by the end stamp, slice = floor((end - start) / width), before the start in 0.
    const auto start = started_at(session);
    EXPECT_EQ(report.session.started_at, start);
    const std::int64_t width = std::int64_t{report.bucket_seconds} * 1000000;
    std::map<std::int64_t, std::int64_t> slices;
    for (const auto& r : rows) {
      if (const auto& end = r.stamps[static_cast<std::size_t>(Hop::kEnd)]) {
        ++slices[std::max<std::int64_t>(0, (*end - start).count() / width)];
      }
    }
    std::vector<ThroughputPoint> points;
    if (!slices.empty()) {
      for (std::int64_t s = 0; s <= slices.rbegin()->first; ++s) {
        points.push_back({static_cast<double>(s * report.bucket_seconds), slices.count(s) ? slices[s] : 0});
      }
    }
    EXPECT_EQ(report.throughput, points);
    // The slowest by cycle, ties by id.
    std::vector<SlowMessage> slow;
    for (const auto& r : rows) {
      if (!leg_of(r, Leg::kCycle)) continue;
      SlowMessage m;
      m.id = r.id;
      m.trace_id = r.trace_id;
      for (std::size_t leg = 0; leg < kLegCount; ++leg) {
        const auto v = leg_of(r, static_cast<Leg>(leg));
        m.legs_us[leg] = v.value_or(0);
        if (v && shifts[leg]) m.corrected_us[leg] = *v - shifts[leg]->first;
      }
      slow.push_back(m);
    }
    std::sort(slow.begin(), slow.end(), [](const SlowMessage& a, const SlowMessage& b) {
      const auto ca = a.legs_us[static_cast<std::size_t>(Leg::kCycle)];
      const auto cb = b.legs_us[static_cast<std::size_t>(Leg::kCycle)];
      return ca != cb ? ca > cb : a.id < b.id;
    });
    if (slow.size() > static_cast<std::size_t>(slowest)) slow.resize(static_cast<std::size_t>(slowest));
    EXPECT_EQ(report.slowest, slow);
  }

  Backend backend_{std::get<0>(GetParam())};
  std::unique_ptr<MessageStore> store_;
  std::unique_ptr<ReportStore> reports_;
  std::unique_ptr<Inspector> db_;
};

/// Offsets of a message whose legs are (a, b, c) µs, MS1 stamping it at `ms1` µs after the start.
Planned legs(std::int64_t id, std::int64_t ms1, std::int64_t a, std::int64_t b, std::int64_t c) {
  return {id, {ms1, ms1 + a, ms1 + a + b, ms1 + a + b + c}, {}};
}

}  // namespace

TEST_P(ReportTest, CraftedSessionGivesTheFiguresComputedByHand) {
  const auto start = *common::parse_timestamp("2026-05-04T03:02:01.000000Z");
  common::tracing::TraceId traced{};
  traced.fill(0x5a);
  std::vector<Planned> plan{
      legs(1, 100000, 1000, 10, 1),    // cycle 1011, ends in slice 0
      legs(2, 1000000, 999, 100, 2),   // cycle 1101, slice 1
      legs(3, 2500000, 1, 1000000, 13),  // cycle 1000014, slice 3
      legs(4, 3800000, 0, 12, 1259),   // cycle 1271, slice 3
      legs(5, -1000000, -5, 20, 30),   // a clock stepped back: ends before the start, slice 0
      {6, {4999400, std::nullopt, 4999900, 5000000}, {}},  // no MS2 stamp: cycle 600, slice 5 (exactly)
      {7, {6000000, 6000050, 6000110, std::nullopt}, {}},  // not back yet: no cycle, no slice
  };
  plan[2].trace = traced;
  const auto s = session(start, plan);
  const auto report = reports_->session_report(s, 3);
  ASSERT_TRUE(report.has_value());

  EXPECT_EQ(report->session.session_id, s);
  EXPECT_EQ(report->session.started_at, start);
  EXPECT_FALSE(report->session.finished_at.has_value()) << "still open";
  EXPECT_FALSE(report->session.reason.has_value());
  EXPECT_EQ(report->session.duration_seconds, 10);
  EXPECT_EQ(report->session.window_size, 3);
  EXPECT_EQ(report->session.naming, common::to_string(naming()));
  EXPECT_EQ(report->bucket_seconds, 1);

  const auto& a = report->legs[static_cast<std::size_t>(Leg::kMs1ToMs2)];  // -5 0 1 50 999 1000
  EXPECT_EQ(a.count, 6);
  EXPECT_EQ(std::tie(a.min_us, a.p50_us, a.p90_us, a.p99_us, a.max_us),
            std::make_tuple(std::int64_t{-5}, std::int64_t{1}, std::int64_t{1000}, std::int64_t{1000}, std::int64_t{1000}));
  ASSERT_EQ(a.buckets.size(), 31u) << "from bucket 0 to bucket 30, gaps included";
  EXPECT_EQ(a.buckets[0], (Bucket{0, 3})) << "negative, zero and 1 µs";
  EXPECT_EQ(a.buckets[16], (Bucket{16, 1})) << "50 µs: 10^1.6 = 39.8 <= 50 < 10^1.7 = 50.1";
  EXPECT_EQ(a.buckets[29], (Bucket{29, 1})) << "999 µs";
  EXPECT_EQ(a.buckets[30], (Bucket{30, 1})) << "1000 µs is 10^3 exactly: bucket 30, not 29";
  EXPECT_EQ(a.buckets[15], (Bucket{15, 0}));

  const auto& b = report->legs[static_cast<std::size_t>(Leg::kMs2ToMs3)];  // 10 12 20 60 100 1000000
  EXPECT_EQ(std::tie(b.count, b.min_us, b.p50_us, b.p90_us, b.p99_us, b.max_us),
            std::make_tuple(std::int64_t{6}, std::int64_t{10}, std::int64_t{20}, std::int64_t{1000000},
                            std::int64_t{1000000}, std::int64_t{1000000}));
  EXPECT_EQ(b.buckets.front(), (Bucket{10, 2})) << "10 and 12 µs";
  EXPECT_EQ(b.buckets.back(), (Bucket{60, 1})) << "1 s is 10^6 µs: bucket 60";

  const auto& c = report->legs[static_cast<std::size_t>(Leg::kMs3ToMs1)];  // 1 2 13 30 100 1259
  EXPECT_EQ(std::tie(c.count, c.min_us, c.p50_us, c.p90_us, c.p99_us, c.max_us),
            std::make_tuple(std::int64_t{6}, std::int64_t{1}, std::int64_t{13}, std::int64_t{1259}, std::int64_t{1259},
                            std::int64_t{1259}));
  EXPECT_EQ(c.buckets.back(), (Bucket{31, 1})) << "1259 µs is above 10^3.1 = 1258.9";

  const auto& cycle = report->legs[static_cast<std::size_t>(Leg::kCycle)];  // 45 600 1011 1101 1271 1000014
  EXPECT_EQ(std::tie(cycle.count, cycle.min_us, cycle.p50_us, cycle.p90_us, cycle.p99_us, cycle.max_us),
            std::make_tuple(std::int64_t{6}, std::int64_t{45}, std::int64_t{1011}, std::int64_t{1000014},
                            std::int64_t{1000014}, std::int64_t{1000014}));

  EXPECT_EQ(report->throughput, (std::vector<ThroughputPoint>{{0, 2}, {1, 1}, {2, 0}, {3, 2}, {4, 0}, {5, 1}}));

  ASSERT_EQ(report->slowest.size(), 3u);
  EXPECT_EQ(report->slowest[0], (SlowMessage{3, {1, 1000000, 13, 1000014}, "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"}));
  EXPECT_EQ(report->slowest[1], (SlowMessage{4, {0, 12, 1259, 1271}, ""}));
  EXPECT_EQ(report->slowest[2], (SlowMessage{2, {999, 100, 2, 1101}, ""}));

  expect_matches_raw(s, *report, 3);
}

TEST_P(ReportTest, LargeSessionAgreesWithItsRawRowsAndTheDatabasesOwnSql) {
  std::mt19937_64 random(42);
  std::uniform_int_distribution<std::int64_t> spread(0, 60000);
  // Every decade, and one below each, is where a logarithm would go wrong.
  const std::vector<std::int64_t> edges{1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999, 100000, 1000000};
  std::vector<Planned> plan;
  for (std::int64_t id = 1; id <= 3000; ++id) {
    const auto pick = [&](std::int64_t k) { return k % 7 == 0 ? edges[static_cast<std::size_t>(k) % edges.size()] : spread(random); };
    auto p = legs(id, id * 2000, pick(id), pick(id + 1), pick(id + 2));
    if (id % 97 == 0) p.at[static_cast<std::size_t>(Hop::kMs3)].reset();
    if (id % 5 == 0) p.trace.fill(static_cast<std::uint8_t>(id));
    plan.push_back(p);
  }
  const auto s = session(common::now_utc(), plan, 3);
  SessionSummary summary;
  summary.session_id = s;
  summary.reason = StopReason::kDuration;
  summary.sent = 3000;
  summary.stored = 3000;
  summary.elapsed = std::chrono::milliseconds(6500);
  summary.finished_at = common::now_utc();
  store_->finish_session(summary);

  EXPECT_EQ(reports_->stored_rows(s), 3000);
  const auto report = reports_->session_report(s, 10);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->session.reason, "duration");
  EXPECT_EQ(report->session.sent, 3000);
  EXPECT_EQ(report->session.elapsed_seconds, 6.5);
  EXPECT_EQ(report->bucket_seconds, 1);
  EXPECT_EQ(report->slowest.size(), 10u);
  expect_matches_raw(s, *report, 10);

  // The database's own arithmetic on the stamps, independent of the report's queries.
  const auto [from, to] = leg_stamps(Leg::kCycle);
  const auto a = column(from);
  const auto b = column(to);
  const auto us = backend_.driver == "postgresql"
                      ? "((EXTRACT(EPOCH FROM " + b + ") - EXTRACT(EPOCH FROM " + a + ")) * 1000000)"
                      : "TIMESTAMPDIFF(MICROSECOND, " + a + ", " + b + ")";
  const auto where = " FROM messages WHERE session_id = " + std::to_string(s) + " AND " + a + " IS NOT NULL AND " + b +
                     " IS NOT NULL";
  const auto& cycle = report->legs[static_cast<std::size_t>(Leg::kCycle)];
  EXPECT_EQ(std::to_string(cycle.count), db_->scalar("SELECT count(*)" + where));
  const auto nth = [&](std::int64_t rank) {
    const auto text = db_->scalar("SELECT " + us + where + " ORDER BY 1 LIMIT 1 OFFSET " + std::to_string(rank - 1));
    return std::stoll(text);  // PostgreSQL prints 1234.000000: stoll stops at the point
  };
  EXPECT_EQ(cycle.min_us, nth(1));
  EXPECT_EQ(cycle.p50_us, nth((cycle.count * 50 + 99) / 100));
  EXPECT_EQ(cycle.p90_us, nth((cycle.count * 90 + 99) / 100));
  EXPECT_EQ(cycle.p99_us, nth((cycle.count * 99 + 99) / 100));
  EXPECT_EQ(cycle.max_us, nth(cycle.count));
  for (const auto& bucket : cycle.buckets) {
    const auto lo = detail::bucket_lower_us()[static_cast<std::size_t>(bucket.index)];
    std::string range = us + " >= " + std::to_string(bucket.index == 0 ? -1000000000 : lo);
    if (bucket.index + 1 < detail::kBucketCount) {
      range += " AND " + us + " < " + std::to_string(detail::bucket_lower_us()[static_cast<std::size_t>(bucket.index) + 1]);
    }
    EXPECT_EQ(std::to_string(bucket.count), db_->scalar("SELECT count(*)" + where + " AND " + range)) << bucket.index;
  }
}

ClockRecord clock_record(Hop hop, std::int64_t offset_us, std::int64_t uncertainty_us, std::int64_t samples) {
  ClockRecord r;
  r.clock = hop;
  r.offset_us = offset_us;
  r.uncertainty_us = uncertainty_us;
  r.samples = samples;
  r.measured_at = *common::parse_timestamp("2026-05-04T03:02:09.123457Z");
  return r;
}

TEST_P(ReportTest, SkewedClocksAreCorrectedAndAgreeWithTheDatabasesOwnSql) {
  // MS2's clock 80 ms ahead of MS1's, MS3's 50 ms behind: the stamps are what each clock said.
  constexpr std::int64_t kTheta2 = 80000;
  constexpr std::int64_t kTheta3 = -50000;
  std::mt19937_64 random(11);
  std::uniform_int_distribution<std::int64_t> hop(1, 3000);
  std::vector<Planned> plan;
  for (std::int64_t id = 1; id <= 2000; ++id) {
    const auto a = hop(random), b = hop(random), c = hop(random), ms1 = id * 3000;
    Planned p{id, {ms1, ms1 + a + kTheta2, ms1 + a + b + kTheta3, ms1 + a + b + c}, {}};
    if (id % 89 == 0) p.at[static_cast<std::size_t>(Hop::kMs2)].reset();  // a leg without its stamps
    plan.push_back(p);
  }
  // The live estimates at start, then the session's best at finish (MS2's only: MS3's stays).
  const auto start = common::now_utc();
  const auto s = session(start, plan, 10, 3,
                         {clock_record(Hop::kMs2, kTheta2 + 300, 900, 4), clock_record(Hop::kMs3, kTheta3 + 20, 150, 2),
                          clock_record(Hop::kEnd, 5, 5, 5)});
  const auto stamp2 = std::string(common::field_name(naming(), Hop::kMs2));
  const auto stamp3 = std::string(common::field_name(naming(), Hop::kMs3));
  auto stored = stored_clocks(s);
  ASSERT_EQ(stored.size(), 2u) << "one row a peer clock, named by its stamp; MS1's own stamp has none";
  EXPECT_EQ(stored.at(stamp2), std::make_tuple(kTheta2 + 300, std::int64_t{900}, std::int64_t{4},
                                               std::string("2026-05-04T03:02:09.123457Z")));
  SessionSummary summary;
  summary.session_id = s;
  summary.reason = StopReason::kDuration;
  summary.sent = 2000;
  summary.stored = 2000;
  summary.finished_at = common::now_utc();
  summary.clocks = {clock_record(Hop::kMs2, kTheta2 - 4, 71, 812)};
  store_->finish_session(summary);
  stored = stored_clocks(s);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored.at(stamp2), std::make_tuple(kTheta2 - 4, std::int64_t{71}, std::int64_t{812},
                                               std::string("2026-05-04T03:02:09.123457Z")))
      << "upserted at finish";
  EXPECT_EQ(std::get<0>(stored.at(stamp3)), kTheta3 + 20) << "the start's estimate is kept without a better one";

  const auto report = reports_->session_report(s, 10);
  ASSERT_TRUE(report.has_value());
  ASSERT_TRUE(report->clocks[0] && report->clocks[1]);
  EXPECT_EQ(report->clocks[0]->clock, Hop::kMs2);
  EXPECT_EQ(std::tie(report->clocks[0]->offset_us, report->clocks[0]->uncertainty_us, report->clocks[0]->samples),
            std::make_tuple(kTheta2 - 4, std::int64_t{71}, std::int64_t{812}));
  EXPECT_EQ(report->clocks[0]->measured_at, *common::parse_timestamp("2026-05-04T03:02:09.123457Z"));
  EXPECT_EQ(report->clocks[1]->clock, Hop::kMs3);
  EXPECT_EQ(report->clocks[1]->offset_us, kTheta3 + 20);
  expect_matches_raw(s, *report, 10);

  // Raw, the hops are off by the skew; corrected, they are back within the estimates' errors.
  const auto& raw = report->legs;
  const auto& corrected = report->corrected;
  ASSERT_TRUE(corrected[0] && corrected[1] && corrected[2] && corrected[3]);
  EXPECT_GT(raw[0].p50_us, kTheta2);
  EXPECT_LT(raw[1].p50_us, 0);
  EXPECT_LT(corrected[0]->stats.p50_us, 3000 + 4);
  EXPECT_GT(corrected[1]->stats.min_us, 0 - 24);
  EXPECT_EQ(corrected[3]->stats, raw[3]) << "the cycle is MS1's own clock";
  EXPECT_EQ(corrected[1]->uncertainty_us, 71 + 150);

  // The database's own arithmetic: ms2_to_ms3 − θ3 + θ2, the offsets read by the server itself.
  const auto theta = [&](const std::string& stamp) {
    return "(SELECT offset_us FROM clock_offsets WHERE session_id = " + std::to_string(s) + " AND stamp = '" + stamp + "')";
  };
  const auto a = column(Hop::kMs2);
  const auto b = column(Hop::kMs3);
  const auto raw_us = backend_.driver == "postgresql"
                          ? "((EXTRACT(EPOCH FROM " + b + ") - EXTRACT(EPOCH FROM " + a + ")) * 1000000)"
                          : "TIMESTAMPDIFF(MICROSECOND, " + a + ", " + b + ")";
  const auto us = "(" + raw_us + " - " + theta(stamp3) + " + " + theta(stamp2) + ")";
  const auto where = " FROM messages WHERE session_id = " + std::to_string(s) + " AND " + a + " IS NOT NULL AND " + b +
                     " IS NOT NULL";
  const auto& leg = corrected[1]->stats;
  EXPECT_EQ(std::to_string(leg.count), db_->scalar("SELECT count(*)" + where));
  const auto nth = [&](std::int64_t rank) {
    return std::stoll(db_->scalar("SELECT " + us + where + " ORDER BY 1 LIMIT 1 OFFSET " + std::to_string(rank - 1)));
  };
  EXPECT_EQ(leg.min_us, nth(1));
  EXPECT_EQ(leg.p50_us, nth((leg.count * 50 + 99) / 100));
  EXPECT_EQ(leg.p90_us, nth((leg.count * 90 + 99) / 100));
  EXPECT_EQ(leg.p99_us, nth((leg.count * 99 + 99) / 100));
  EXPECT_EQ(leg.max_us, nth(leg.count));
  for (const auto& bucket : leg.buckets) {
    const auto lo = detail::bucket_lower_us()[static_cast<std::size_t>(bucket.index)];
    std::string range = us + " >= " + std::to_string(bucket.index == 0 ? -1000000000 : lo);
    if (bucket.index + 1 < detail::kBucketCount) {
      range += " AND " + us + " < " + std::to_string(detail::bucket_lower_us()[static_cast<std::size_t>(bucket.index) + 1]);
    }
    EXPECT_EQ(std::to_string(bucket.count), db_->scalar("SELECT count(*)" + where + " AND " + range)) << bucket.index;
  }
}

TEST_P(ReportTest, ClockRowsOfEitherNamingAreRead) {
  // A database used with both namings: this session's MS3 row is spelled the other way.
  const auto other = naming() == Naming::kService ? Naming::kMc : Naming::kService;
  const auto s = session(common::now_utc(), {legs(1, 0, 100, 200, 300)}, 10, 3, {clock_record(Hop::kMs2, 40, 10, 1)});
  const auto stamp = std::string(common::field_name(other, Hop::kMs3));
  const auto measured = backend_.driver == "postgresql" ? "'2026-05-04T03:02:09.123457Z'::timestamptz"
                                                        : "'2026-05-04 03:02:09.123457'";
  const auto inserted = db_->scalar("INSERT INTO clock_offsets (session_id, stamp, offset_us, uncertainty_us, samples,"
                                    " measured_at) VALUES (" + std::to_string(s) + ", '" + stamp + "', -30, 20, 6, " +
                                    measured + ")" + (backend_.driver == "postgresql" ? " RETURNING 1" : ""));
  ASSERT_EQ(inserted.rfind("ERROR", 0), std::string::npos) << inserted;
  const auto report = reports_->session_report(s, 10);
  ASSERT_TRUE(report.has_value());
  ASSERT_TRUE(report->clocks[1]) << stamp;
  EXPECT_EQ(report->clocks[1]->offset_us, -30);
  EXPECT_EQ(report->clocks[1]->measured_at, *common::parse_timestamp("2026-05-04T03:02:09.123457Z"));
  ASSERT_TRUE(report->corrected[1]);
  EXPECT_EQ(report->corrected[1]->stats.p50_us, 200 + 30 + 40);
  EXPECT_EQ(report->corrected[1]->uncertainty_us, 30);
  EXPECT_EQ(report->corrected[2]->stats.p50_us, 300 - 30);
  EXPECT_FALSE(report->corrected[2]->below_uncertainty);
  expect_matches_raw(s, *report, 10);
}

TEST_P(ReportTest, SessionWithoutClockEstimatesHasNoCorrections) {
  const auto s = session(common::now_utc(), {legs(1, 0, 100, 200, 300)});
  const auto report = reports_->session_report(s, 10);
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->clocks[0] || report->clocks[1]);
  for (const auto& leg : report->corrected) EXPECT_FALSE(leg.has_value());
  ASSERT_EQ(report->slowest.size(), 1u);
  EXPECT_EQ(report->slowest[0].corrected_us, (std::array<std::optional<std::int64_t>, kLegCount>{}));
}

TEST_P(ReportTest, SessionWithoutRowsHasEmptyLegsAndUnknownIdIsNullopt) {
  const auto s = session(common::now_utc(), {});
  const auto report = reports_->session_report(s, 10);
  ASSERT_TRUE(report.has_value());
  for (const auto& leg : report->legs) EXPECT_EQ(leg, LegStats{});
  EXPECT_TRUE(report->throughput.empty());
  EXPECT_TRUE(report->slowest.empty());
  EXPECT_EQ(reports_->stored_rows(s), 0);
  const auto unknown = std::stoll(db_->scalar("SELECT COALESCE(MAX(session_id), 0) FROM sessions")) + 1000000;
  EXPECT_FALSE(reports_->session_report(unknown, 10).has_value());
  EXPECT_EQ(reports_->stored_rows(unknown), 0);
}

TEST_P(ReportTest, SessionsListNewestFirstInPages) {
  const auto t = *common::parse_timestamp("2026-07-08T09:10:11.123456Z");
  const auto s1 = session(t, {});
  const auto s2 = session(t + microseconds(1), {}, 20, 7);
  const auto s3 = session(t + microseconds(2), {});
  SessionSummary summary;
  summary.session_id = s2;
  summary.reason = StopReason::kStopped;
  summary.sent = 12;
  summary.stored = 11;
  summary.lost = 1;
  summary.resent = 2;
  summary.elapsed = std::chrono::microseconds(2250000);
  summary.finished_at = t + std::chrono::seconds(3);
  store_->finish_session(summary);

  const auto all = reports_->list_sessions(s3 + 1, 100);
  ASSERT_GE(all.size(), 3u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i - 1].session_id, all[i].session_id) << "newest first";
  EXPECT_EQ(all[0].session_id, s3);
  // The same ids as the database's own listing.
  std::string ids;
  for (const auto& row : all) ids += (ids.empty() ? "" : ",") + std::to_string(row.session_id);
  const auto listing = backend_.driver == "postgresql"
                           ? "SELECT string_agg(session_id::text, ',' ORDER BY session_id DESC) FROM (SELECT session_id FROM"
                             " sessions WHERE session_id < " + std::to_string(s3 + 1) + " ORDER BY session_id DESC LIMIT 100) x"
                           : "SELECT GROUP_CONCAT(session_id ORDER BY session_id DESC) FROM (SELECT session_id FROM sessions"
                             " WHERE session_id < " + std::to_string(s3 + 1) + " ORDER BY session_id DESC LIMIT 100) x";
  EXPECT_EQ(ids, db_->scalar(listing));

  const auto it = std::find_if(all.begin(), all.end(), [&](const SessionRow& r) { return r.session_id == s2; });
  ASSERT_NE(it, all.end());
  SessionRow expected;
  expected.session_id = s2;
  expected.started_at = t + microseconds(1);
  expected.finished_at = t + std::chrono::seconds(3);
  expected.duration_seconds = 20;
  expected.window_size = 7;
  expected.naming = std::string(common::to_string(naming()));
  expected.reason = "stop";
  expected.sent = 12;
  expected.stored = 11;
  expected.lost = 1;
  expected.resent = 2;
  expected.elapsed_seconds = 2.25;
  EXPECT_EQ(*it, expected);
  EXPECT_FALSE(std::find_if(all.begin(), all.end(), [&](const SessionRow& r) { return r.session_id == s1; })->finished_at)
      << "an open session has no finish";

  // Pages of two, each starting below the last id of the one before, add up to the whole list.
  std::vector<SessionRow> paged;
  std::optional<std::int64_t> before = s3 + 1;
  while (paged.size() < all.size()) {
    const auto page = reports_->list_sessions(before, 2);
    ASSERT_FALSE(page.empty());
    ASSERT_LE(page.size(), 2u);
    paged.insert(paged.end(), page.begin(), page.end());
    before = page.back().session_id;
  }
  paged.resize(all.size());
  // Other tests share the database and may finish their sessions while this one pages, so whole rows are
  // compared only for the sessions this test owns; the ids must match throughout.
  const auto ids_of = [](const std::vector<SessionRow>& rows) {
    std::vector<std::int64_t> out;
    for (const auto& row : rows) out.push_back(row.session_id);
    return out;
  };
  EXPECT_EQ(ids_of(paged), ids_of(all));
  for (const auto own : {s1, s2, s3}) {
    const auto in = [own](const std::vector<SessionRow>& rows) {
      return std::find_if(rows.begin(), rows.end(), [own](const SessionRow& r) { return r.session_id == own; });
    };
    ASSERT_NE(in(paged), paged.end()) << own;
    EXPECT_EQ(*in(paged), *in(all)) << own;
  }
  EXPECT_TRUE(reports_->list_sessions(std::int64_t{1}, 10).empty()) << "nothing is below the first id";
  const auto newest = reports_->list_sessions(std::nullopt, 1);
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_GE(newest[0].session_id, s3);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReportTest,
                         ::testing::Combine(::testing::Values("postgresql", "mariadb"),
                                            ::testing::Values(Naming::kService, Naming::kMc), ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::string(common::to_string(std::get<1>(info.param))) +
                                  (std::get<2>(info.param) ? "_sorted" : "_counted");
                         });
