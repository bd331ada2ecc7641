// POST /store over fakes of the database: bad bodies and what the database answers.
#include "http_api_fixture.hpp"

#include "ringtrace/common/clock_offset.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using namespace ringtrace::ms1::fakes;

namespace {

TEST_P(HttpApiTest, BadStoreBodiesAreRefused) {
  struct Case {
    std::string body;
    std::string type;
    http::status status;
  };
  common::Message m;
  m.id = 1;
  m.session_id = 1;
  m.at(common::Hop::kMs1) = common::now_utc();  // no MS2 or MS3 stamp: it skipped hops
  const std::vector<Case> cases = {
      {"{not json", "application/json", http::status::bad_request},
      {R"({"id":"1","session_id":1})", "application/json", http::status::bad_request},
      {R"({"id":1,"session_id":true})", "", http::status::bad_request},
      {"[1,2]", "", http::status::bad_request},
      {common::encode(m, common::Naming::kService), "text/plain", http::status::unsupported_media_type},
      {common::encode(m, common::Naming::kService), "application/json", http::status::unprocessable_entity},
  };
  for (const auto& c : cases) {
    const auto response = ms1().call(http::verb::post, "/store", c.body, c.type);
    EXPECT_EQ(response.result(), c.status) << c.body;
    EXPECT_TRUE(body_of(response).at("error").is_string()) << c.body;
  }
  auto old = m;
  old.at(common::Hop::kMs1) = *common::parse_timestamp("0999-01-01T00:00:00.000000Z");
  const auto response = ms1().call(http::verb::post, "/store", common::encode(old, common::Naming::kService));
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_NE(response.body().find("before the year 1000"), std::string::npos);
  EXPECT_NE(ms1().metrics_text().find("ringtrace_store_requests_total{outcome=\"rejected\"} 7"), std::string::npos);
}

TEST_P(HttpApiTest, DatabaseOutcomesMapTo422And503) {
  start();
  ms1().db->set_down(true);
  ms1().db->fail_next("store", Fault::kUnavailable);
  auto response = ms1().call(http::verb::post, "/store", ms1().returned(0));
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(response[http::field::retry_after], "1");
  EXPECT_EQ(body_of(response).at("error").as_string(), "database unavailable, retry later");
  EXPECT_NE(ms1().metrics_text().find("ringtrace_store_requests_total{outcome=\"unavailable\"} 1"), std::string::npos);
  ms1().db->set_down(false);
  ASSERT_TRUE(ms1().connected()) << "reconnects by itself";
  ms1().db->refuse_row(1);
  response = ms1().call(http::verb::post, "/store", ms1().returned(0));
  EXPECT_EQ(response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(body_of(response).at("error").as_string(), "the database refused the message");
}

/// MS1's stamps on an answer, checked to lie between `before` and `after` in order.
void expect_stamped(const common::HttpResponse& response, common::Timestamp before, common::Timestamp after) {
  const auto header = response.find(common::kClockHeader);
  ASSERT_NE(header, response.end()) << "status " << response.result_int();
  const auto stamps = common::parse_clock_stamps(std::string_view(header->value().data(), header->value().size()));
  ASSERT_TRUE(stamps) << header->value();
  EXPECT_LE(before, stamps->t2);
  EXPECT_LE(stamps->t2, stamps->t3);
  EXPECT_LE(stamps->t3, after);
}

TEST_P(HttpApiTest, EveryStoreAnswerCarriesMs1sClockStamps) {
  auto before = common::now_utc();
  auto response = ms1().call(http::verb::post, "/store", "{not json", "application/json");
  EXPECT_EQ(response.result(), http::status::bad_request);
  expect_stamped(response, before, common::now_utc());

  start();
  before = common::now_utc();
  response = ms1().call(http::verb::post, "/store", ms1().returned(0));
  EXPECT_EQ(response.result(), http::status::ok);
  expect_stamped(response, before, common::now_utc());

  ms1().db->set_down(true);
  ms1().db->fail_next("store", Fault::kUnavailable);
  before = common::now_utc();
  response = ms1().call(http::verb::post, "/store", ms1().returned(0));
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  expect_stamped(response, before, common::now_utc());
  ms1().db->set_down(false);
}

TEST_P(HttpApiTest, Ms3sClockReportReachesTheClockBookNegated) {
  start();
  const auto response = ms1().call(http::verb::post, "/store", ms1().returned(0), "application/json",
                                   {{"Ringtrace-Clock-Offset", "offset_us=50000;uncertainty_us=40;samples=9"}});
  EXPECT_EQ(response.result(), http::status::ok);
  const auto live = ms1().runner.clock_book().live(common::Hop::kMs3, common::now_utc());
  ASSERT_TRUE(live);
  EXPECT_EQ(live->offset_us, -50'000) << "MS3 reports MS1 minus MS3; MS1 keeps MS3 minus MS1";
  EXPECT_EQ(live->uncertainty_us, 40);
  EXPECT_EQ(live->samples, 9);
  const auto metrics = ms1().metrics_text();
  EXPECT_NE(metrics.find("ringtrace_clock_offset_seconds{clock=\"ms3\"} -0.05"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ringtrace_clock_uncertainty_seconds{clock=\"ms3\"} 4e-05"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ringtrace_clock_samples_total{clock=\"ms3\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ringtrace_clock_offset_seconds{clock=\"ms2\"} NaN"), std::string::npos)
      << "no probe answered: no estimate";
}

TEST_P(HttpApiTest, MalformedClockReportIsIgnoredAndCountedNeverRefused) {
  start();
  for (const char* bad : {"offset_us=1", "offset_us=1;uncertainty_us=-2;samples=3", "garbage"}) {
    const auto response = ms1().call(http::verb::post, "/store", ms1().returned(0), "application/json",
                                     {{"Ringtrace-Clock-Offset", bad}});
    EXPECT_EQ(response.result(), http::status::ok) << bad;
  }
  EXPECT_FALSE(ms1().runner.clock_book().live(common::Hop::kMs3, common::now_utc()));
  const auto metrics = ms1().metrics_text();
  EXPECT_NE(metrics.find("ringtrace_clock_reports_rejected_total 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ringtrace_store_requests_total{outcome=\"stored\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ringtrace_store_requests_total{outcome=\"duplicate\"} 2"), std::string::npos) << metrics;
}

TEST_P(HttpApiTest, TheSessionSummaryCarriesItsBestClockEstimates) {
  start();
  const auto t1 = common::now_utc();
  using std::chrono::microseconds;
  // MS2 80 ms ahead: a wide exchange, then a tight one, then a wide one again.
  ms1().runner.on_clock_sample({t1, t1 + microseconds(80'400), t1 + microseconds(80'400), t1 + microseconds(800)});
  ms1().runner.on_clock_sample({t1, t1 + microseconds(80'010), t1 + microseconds(80'012), t1 + microseconds(22)});
  ms1().runner.on_clock_sample({t1, t1 + microseconds(80'300), t1 + microseconds(80'300), t1 + microseconds(600)});
  ms1().runner.on_peer_clock({50'000, 300, 4, {}});
  ms1().runner.on_peer_clock({50'010, 30, 5, {}});
  ms1().runner.on_peer_clock({50'100, 200, 6, {}});
  bool stopped = false;
  ASSERT_TRUE(ms1().runner.stop([&](const SessionSummary&) { stopped = true; }));
  ASSERT_TRUE(ms1().run_until([&] { return stopped; }));
  const auto& clocks = ms1().runner.last_summary()->clocks;
  ASSERT_EQ(clocks.size(), 2u);
  EXPECT_EQ(clocks[0].clock, common::Hop::kMs2);
  EXPECT_EQ(clocks[0].offset_us, 80'000);
  EXPECT_EQ(clocks[0].uncertainty_us, 10);
  EXPECT_EQ(clocks[1].clock, common::Hop::kMs3);
  EXPECT_EQ(clocks[1].offset_us, -50'010) << "the tightest report, negated";
  EXPECT_EQ(clocks[1].uncertainty_us, 30);
  const auto live = ms1().runner.clock_book().live_records(common::now_utc());
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[1].offset_us, -50'100) << "live is MS3's latest report";
}

}  // namespace
