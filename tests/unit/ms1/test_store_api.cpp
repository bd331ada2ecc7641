// POST /store over fakes of the database: bad bodies and what the database answers.
#include "http_api_fixture.hpp"

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

}  // namespace
