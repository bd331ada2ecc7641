// GET /sessions and GET /sessions/{id} over the report thread and a fake store: parameters,
// the JSON shapes the dashboard relies on, 404 and 503; and the console's latency line.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include "fake_report_store.hpp"
#include <set>
#include <sstream>

#include "ringtrace/ms1/reports/clock_correction.hpp"
#include "ringtrace/ms1/reports/report_json.hpp"
#include "ringtrace/ms1/reports/sessions_api.hpp"
#include "ringtrace/ms1/service/router.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms1 {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using fakes::FakeReports;
using fakes::FakeReportStore;

/// A report with every field set: leg i has latencies around (i+1) ms, the cycle has no rows.
SessionReport sample_report() {
  SessionReport r;
  r.session.session_id = 7;
  r.session.started_at = *common::parse_timestamp("2026-12-03T18:00:00.123456Z");
  r.session.finished_at = *common::parse_timestamp("2026-12-03T18:00:10.500000Z");
  r.session.duration_seconds = 10;
  r.session.window_size = 8;
  r.session.naming = "mc";
  r.session.reason = "duration";
  r.session.sent = 100;
  r.session.stored = 99;
  r.session.lost = 1;
  r.session.resent = 0;
  r.session.elapsed_seconds = 10.25;
  for (std::size_t i = 0; i < 3; ++i) {
    auto& leg = r.legs[i];
    const std::int64_t base = static_cast<std::int64_t>(i + 1) * 1000;
    leg.count = 99;
    leg.min_us = base - 1;
    leg.p50_us = base;
    leg.p90_us = base + 250;
    leg.p99_us = base + 1500;
    leg.max_us = base + 123456;
    leg.buckets = {{30, 40}, {31, 0}, {32, 59}};
  }
  r.bucket_seconds = 2;
  r.throughput = {{0, 21}, {2, 0}, {4, 78}};
  r.slowest = {SlowMessage{12, {1000, 2000, 3001, 6001}, "0123456789abcdef0123456789abcdef"},
               SlowMessage{3, {-250, 2, 3, 5}, ""}};
  return r;
}

class SessionsApiTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::off); }

  common::HttpResponse get(std::string target) {
    std::optional<common::HttpResponse> out;
    // As MS1's front dispatches them (HttpApi::handle).
    const common::Responder respond = [&](common::HttpResponse r) { out = std::move(r); };
    if (route("GET", target) == Route::kSessions) {
      api.list(target, respond);
    } else {
      api.report(target, respond);
    }
    test::eventually([&] {
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(2));
      return out.has_value();
    });
    return out.value_or(common::HttpResponse{http::status::gateway_timeout, 11});
  }
  json::object body(const common::HttpResponse& r) { return json::parse(r.body()).as_object(); }
  std::string error(const common::HttpResponse& r) { return std::string(body(r).at("error").as_string()); }

  boost::asio::io_context ioc{1};
  std::shared_ptr<FakeReports> db = std::make_shared<FakeReports>();
  ReportService reports{std::make_unique<FakeReportStore>(db), ioc.get_executor()};
  SessionsApi api{reports};
};

TEST_F(SessionsApiTest, ListsNewestFirstWithACursor) {
  for (int id = 1; id <= 5; ++id) db->add_session(id);
  auto r = get("/sessions?limit=2");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  EXPECT_EQ(r[http::field::content_type], "application/json");
  auto b = body(r);
  ASSERT_EQ(b.at("sessions").as_array().size(), 2u);
  EXPECT_EQ(b.at("sessions").as_array()[0].at("session_id").as_int64(), 5);
  EXPECT_EQ(b.at("next_before").as_int64(), 4);
  EXPECT_EQ(db->last_limit, 3) << "one more row than the page tells whether another follows";
  b = body(get("/sessions?limit=2&before=4"));
  EXPECT_EQ(b.at("sessions").as_array()[0].at("session_id").as_int64(), 3);
  EXPECT_EQ(b.at("next_before").as_int64(), 2);
  b = body(get("/sessions?before=2&limit=2"));
  ASSERT_EQ(b.at("sessions").as_array().size(), 1u);
  EXPECT_TRUE(b.at("next_before").is_null());
  b = body(get("/sessions"));
  EXPECT_EQ(b.at("sessions").as_array().size(), 5u);
  EXPECT_EQ(db->last_limit, 21) << "default page: 20";
  EXPECT_TRUE(b.at("next_before").is_null());
}

TEST_F(SessionsApiTest, SessionRowShape) {
  db->add_session(1);
  const auto r = get("/sessions");
  // An open session: every outcome is null; the timestamp has its microseconds.
  EXPECT_NE(r.body().find(R"({"session_id":1,"started_at":"2026-12-03T18:01:00.123456Z","finished_at":null,)"
                          R"("duration_seconds":10,"window_size":8,"naming":"service","reason":null,"sent":null,)"
                          R"("stored":null,"lost":null,"resent":null,"elapsed_seconds":null})"),
            std::string::npos)
      << r.body();
}

TEST_F(SessionsApiTest, BadParametersAre400NamingThem) {
  EXPECT_NE(error(get("/sessions?limit=0")).find("'limit'"), std::string::npos);
  EXPECT_NE(error(get("/sessions?limit=101")).find("[1, 100]"), std::string::npos);
  EXPECT_NE(error(get("/sessions?before=0")).find("'before'"), std::string::npos);
  EXPECT_NE(error(get("/sessions?page=2")).find("unknown query parameter 'page'"), std::string::npos);
  EXPECT_EQ(get("/sessions?limit=x").result(), http::status::bad_request);
  EXPECT_EQ(error(get("/sessions/abc")), "session id: expected an integer >= 1, got 'abc'");
  EXPECT_EQ(get("/sessions/0").result(), http::status::bad_request);
  EXPECT_EQ(get("/sessions/-1").result(), http::status::bad_request);
  EXPECT_EQ(get("/sessions/99999999999999999999").result(), http::status::bad_request);
  EXPECT_NE(error(get("/sessions/1?slowest=3")).find("unknown query parameter 'slowest'"), std::string::npos);
  EXPECT_EQ(db->queries, 0) << "a refused request never reaches the database";
}

TEST_F(SessionsApiTest, ReportShape) {
  db->add_session(7);
  db->reports[7] = sample_report();
  const auto r = get("/sessions/7");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  EXPECT_EQ(db->last_slowest, 10);
  const auto b = body(r);
  EXPECT_EQ(b.at("session").at("finished_at").as_string(), "2026-12-03T18:00:10.500000Z");
  EXPECT_EQ(b.at("session").at("reason").as_string(), "duration");
  EXPECT_EQ(b.at("session").at("elapsed_seconds").as_double(), 10.25);
  const auto& legs = b.at("legs").as_array();
  ASSERT_EQ(legs.size(), 4u);
  const char* names[] = {"ms1_to_ms2", "ms2_to_ms3", "ms3_to_ms1", "cycle"};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(legs[i].at("leg").as_string(), names[i]);
  // Milliseconds with microsecond precision, as written (not re-read through a double).
  EXPECT_NE(r.body().find(R"("count":99,"min_ms":1.999,"p50_ms":2.000,"p90_ms":2.250,"p99_ms":3.500,"max_ms":125.456)"),
            std::string::npos)
      << r.body();
  const auto& bucket = legs[0].at("buckets").as_array()[0].as_object();
  EXPECT_DOUBLE_EQ(bucket.at("lower_ms").to_number<double>(), bucket_lower_ms(30));
  EXPECT_DOUBLE_EQ(bucket.at("upper_ms").to_number<double>(), bucket_upper_ms(30));
  EXPECT_EQ(bucket.at("count").as_int64(), 40);
  EXPECT_EQ(legs[0].at("buckets").as_array().size(), 3u);
  // No rows: null figures, no buckets.
  EXPECT_EQ(legs[3].at("count").as_int64(), 0);
  for (const char* key : {"min_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"}) EXPECT_TRUE(legs[3].at(key).is_null()) << key;
  EXPECT_TRUE(legs[3].at("buckets").as_array().empty());
  const auto& throughput = b.at("throughput").as_object();
  EXPECT_EQ(throughput.at("bucket_seconds").as_int64(), 2);
  const auto& points = throughput.at("points").as_array();
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[2].at("t_seconds").to_number<double>(), 4);
  EXPECT_EQ(points[2].at("messages").as_int64(), 78);
  EXPECT_EQ(points[2].at("per_second").to_number<double>(), 39);
  EXPECT_EQ(points[0].at("per_second").to_number<double>(), 10.5);
  const auto& slowest = b.at("slowest").as_array();
  ASSERT_EQ(slowest.size(), 2u);
  EXPECT_NE(r.body().find(R"({"id":12,"trace_id":"0123456789abcdef0123456789abcdef","cycle_ms":6.001,)"
                          R"("ms1_to_ms2_ms":1.000,"ms2_to_ms3_ms":2.000,"ms3_to_ms1_ms":3.001,"corrected":null})"),
            std::string::npos)
      << r.body();
  EXPECT_TRUE(slowest[1].at("trace_id").is_null());
  EXPECT_EQ(slowest[1].at("ms1_to_ms2_ms").to_number<double>(), -0.25);
  // No clock estimate: no clocks, and nothing corrected.
  EXPECT_TRUE(b.at("clocks").as_array().empty());
  for (const auto& leg : legs) EXPECT_TRUE(leg.at("corrected").is_null()) << leg.at("leg");
}

/// sample_report() with clock estimates: MS2 0.5 ms ahead of MS1 (± 0.4 ms), MS3 0.25 ms behind
/// (± 0.1 ms), and its legs corrected as the report stores correct them.
SessionReport corrected_report() {
  auto r = sample_report();
  ClockRecord ms2;
  ms2.clock = common::Hop::kMs2;
  ms2.offset_us = 500;
  ms2.uncertainty_us = 400;
  ms2.samples = 812;
  ms2.measured_at = *common::parse_timestamp("2026-12-03T18:00:09.000002Z");
  ClockRecord ms3 = ms2;
  ms3.clock = common::Hop::kMs3;
  ms3.offset_us = -250;
  ms3.uncertainty_us = 100;
  ms3.samples = 40;
  r.clocks = {ms2, ms3};
  const auto shifts = leg_shifts(r.clocks);
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    r.corrected[leg] = corrected_from_stats(r.legs[leg], *shifts[leg], {{20, 1}});
  }
  for (auto& m : r.slowest) {
    for (std::size_t leg = 0; leg < kLegCount; ++leg) m.corrected_us[leg] = corrected_value(m.legs_us[leg], shifts[leg]);
  }
  r.slowest[1].corrected_us[1].reset();  // as for a message without its MS2 stamp
  return r;
}

TEST_F(SessionsApiTest, ReportShapeWithClockOffsets) {
  db->reports[7] = corrected_report();
  const auto r = get("/sessions/7");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  const auto b = body(r);
  EXPECT_NE(r.body().find(R"("clocks":[{"clock":"ms2","stamp":"MC2_timestamp","offset_ms":0.500,"uncertainty_ms":0.400,)"
                          R"("samples":812,"measured_at":"2026-12-03T18:00:09.000002Z"},{"clock":"ms3",)"
                          R"("stamp":"MC3_timestamp","offset_ms":-0.250,"uncertainty_ms":0.100,"samples":40,)"),
            std::string::npos)
      << "the stamps spelled in the session's naming (mc)\n" << r.body();
  const auto& legs = b.at("legs").as_array();
  // ms1_to_ms2: raw − 0.5 ms, ± 0.4; ms2_to_ms3: raw − (−0.25) + 0.5, ± 0.5; ms3_to_ms1: raw + (−0.25), ± 0.1.
  EXPECT_NE(r.body().find(R"("corrected":{"min_ms":0.499,"p50_ms":0.500,"p90_ms":0.750,"p99_ms":2.000,"max_ms":123.956,)"
                          R"("uncertainty_ms":0.400,"below_uncertainty":false,"buckets":[{"lower_ms":0.1,)"),
            std::string::npos)
      << r.body();
  EXPECT_EQ(legs[1].at("corrected").at("p50_ms").to_number<double>(), 2.75);
  EXPECT_EQ(legs[1].at("corrected").at("uncertainty_ms").to_number<double>(), 0.5);
  EXPECT_EQ(legs[2].at("corrected").at("p50_ms").to_number<double>(), 2.75);
  EXPECT_EQ(legs[2].at("corrected").at("uncertainty_ms").to_number<double>(), 0.1);
  EXPECT_EQ(legs[2].at("p50_ms").to_number<double>(), 3.0) << "the raw figures stay as they were";
  const auto& cycle = legs[3].at("corrected");
  EXPECT_TRUE(cycle.at("p50_ms").is_null()) << "no rows";
  EXPECT_EQ(cycle.at("uncertainty_ms").to_number<double>(), 0);
  EXPECT_FALSE(cycle.at("below_uncertainty").as_bool());
  EXPECT_TRUE(cycle.at("buckets").as_array().empty());
  const auto& slowest = b.at("slowest").as_array();
  EXPECT_NE(r.body().find(R"("ms3_to_ms1_ms":3.001,"corrected":{"cycle_ms":6.001,"ms1_to_ms2_ms":0.500,)"
                          R"("ms2_to_ms3_ms":2.750,"ms3_to_ms1_ms":2.751,"below_uncertainty":[]}})"),
            std::string::npos)
      << r.body();
  const auto& second = slowest[1].at("corrected");
  EXPECT_TRUE(second.at("ms2_to_ms3_ms").is_null()) << "a message without the stamp has no corrected leg";
  EXPECT_EQ(second.at("ms1_to_ms2_ms").to_number<double>(), -0.75);
  EXPECT_EQ(second.at("ms3_to_ms1_ms").to_number<double>(), -0.247);
  EXPECT_EQ(second.at("below_uncertainty"), (json::array{"ms1_to_ms2", "ms3_to_ms1"}))
      << "−0.75 <= 0.4 and −0.247 <= 0.1; the cycle's 0.005 is above its 0";
}

TEST_F(SessionsApiTest, NoSuchSessionIs404) {
  const auto r = get("/sessions/42");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(error(r), "no session 42");
}

TEST_F(SessionsApiTest, DatabaseDownIs503WithRetryAfter) {
  db->down = true;
  for (const auto* target : {"/sessions", "/sessions/1"}) {
    const auto r = get(target);
    EXPECT_EQ(r.result(), http::status::service_unavailable) << target;
    EXPECT_EQ(r[http::field::retry_after], "1");
    EXPECT_NE(error(r).find("database"), std::string::npos);
  }
  db->refuse = true;
  db->down = false;
  EXPECT_TRUE(test::eventually([&] { return get("/sessions").result() == http::status::internal_server_error; }));
}

TEST(MsText, IsExactToTheMicrosecond) {
  EXPECT_EQ(ms_text(0), "0.000");
  EXPECT_EQ(ms_text(1), "0.001");
  EXPECT_EQ(ms_text(1500), "1.500");
  EXPECT_EQ(ms_text(123456789), "123456.789");
  EXPECT_EQ(ms_text(-250), "-0.250");
  EXPECT_EQ(ms_text(-1001), "-1.001");
}

TEST(LatencyLine, HasEachLegsP50AndP99) {
  EXPECT_EQ(latency_line(sample_report()),
            "interaction latency: session_id=7 ms1_to_ms2_p50_ms=1.000 ms1_to_ms2_p99_ms=2.500 "
            "ms2_to_ms3_p50_ms=2.000 ms2_to_ms3_p99_ms=3.500 ms3_to_ms1_p50_ms=3.000 ms3_to_ms1_p99_ms=4.500 "
            "cycle_p50_ms=n/a cycle_p99_ms=n/a corrected=n/a");
  SessionReport empty;
  empty.session.session_id = 3;
  EXPECT_EQ(latency_line(empty),
            "interaction latency: session_id=3 ms1_to_ms2_p50_ms=n/a ms1_to_ms2_p99_ms=n/a ms2_to_ms3_p50_ms=n/a "
            "ms2_to_ms3_p99_ms=n/a ms3_to_ms1_p50_ms=n/a ms3_to_ms1_p99_ms=n/a cycle_p50_ms=n/a cycle_p99_ms=n/a corrected=n/a");
}

TEST(LatencyLine, AppendsEachLegsCorrectedP50AndUncertaintyAfterTheRawKeys) {
  auto report = corrected_report();
  EXPECT_EQ(latency_line(report),
            "interaction latency: session_id=7 ms1_to_ms2_p50_ms=1.000 ms1_to_ms2_p99_ms=2.500 "
            "ms2_to_ms3_p50_ms=2.000 ms2_to_ms3_p99_ms=3.500 ms3_to_ms1_p50_ms=3.000 ms3_to_ms1_p99_ms=4.500 "
            "cycle_p50_ms=n/a cycle_p99_ms=n/a "
            "ms1_to_ms2_corrected_p50_ms=0.500 ms1_to_ms2_uncertainty_ms=0.400 "
            "ms2_to_ms3_corrected_p50_ms=2.750 ms2_to_ms3_uncertainty_ms=0.500 "
            "ms3_to_ms1_corrected_p50_ms=2.750 ms3_to_ms1_uncertainty_ms=0.100 "
            "cycle_corrected_p50_ms=n/a cycle_uncertainty_ms=0.000 below_uncertainty=none");
  // A leg at or below its uncertainty is named; a leg without the estimate it needs reads n/a.
  report.corrected[0]->below_uncertainty = true;
  report.corrected[2]->below_uncertainty = true;
  report.corrected[1].reset();
  const auto line = latency_line(report);
  EXPECT_NE(line.find(" ms2_to_ms3_corrected_p50_ms=n/a ms2_to_ms3_uncertainty_ms=n/a "), std::string::npos) << line;
  EXPECT_TRUE(line.ends_with(" below_uncertainty=ms1_to_ms2,ms3_to_ms1")) << line;
  // Scripts take the first key=value match: every key appears once.
  std::set<std::string> keys;
  std::istringstream words(line.substr(line.find("session_id=")));
  for (std::string word; words >> word;) {
    const auto key = word.substr(0, word.find('='));
    EXPECT_TRUE(keys.insert(key).second) << "repeated key " << key;
    EXPECT_NE(word.find('='), std::string::npos) << word;
  }
  EXPECT_EQ(keys.size(), 1u + 8u + 8u + 1u);
}

}  // namespace
}  // namespace ringtrace::ms1
