#include <gtest/gtest.h>

#include "ringtrace/common/message.hpp"

using namespace ringtrace::common;

namespace {

Timestamp at_us(long long us) { return Timestamp{std::chrono::microseconds{1'790'000'000'000'000LL + us}}; }

Message full_message() {
  Message m;
  m.id = 42;
  m.session_id = 7;
  for (std::size_t i = 0; i < kHopCount; ++i) m.stamps[i] = at_us(static_cast<long long>(i) * 1000 + 1);
  return m;
}

}  // namespace

TEST(FieldNames, BothNamings) {
  EXPECT_EQ(field_name(Naming::kService, Hop::kMs1), "service1_timestamp");
  EXPECT_EQ(field_name(Naming::kService, Hop::kMs3), "service3_timestamp");
  EXPECT_EQ(field_name(Naming::kMc, Hop::kMs2), "MC2_timestamp");
  EXPECT_EQ(field_name(Naming::kMc, Hop::kEnd), "end_timestamp");
  EXPECT_EQ(parse_naming("mc"), Naming::kMc);
  EXPECT_EQ(parse_naming("service"), Naming::kService);
  EXPECT_FALSE(parse_naming("MC").has_value());
  EXPECT_EQ(to_string(Naming::kMc), "mc");
}

TEST(Codec, EncodesNullsForMissingStamps) {
  Message m;
  m.id = 1;
  m.session_id = 2;
  m.at(Hop::kMs1) = at_us(0);
  EXPECT_EQ(encode(m, Naming::kService),
            R"({"id":1,"session_id":2,"service1_timestamp":")" + format_timestamp(at_us(0)) +
                R"(","service2_timestamp":null,"service3_timestamp":null,"end_timestamp":null})");
}

class CodecRoundTrip : public ::testing::TestWithParam<Naming> {};

TEST_P(CodecRoundTrip, FullMessage) {
  const auto m = full_message();
  const auto json = encode(m, GetParam());
  const auto decoded = decode(json, GetParam());
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(*decoded.message, m);
}

TEST_P(CodecRoundTrip, PartialMessage) {
  Message m;
  m.id = 3;
  m.session_id = 9'000'000'000LL;
  m.at(Hop::kMs1) = at_us(5);
  m.at(Hop::kMs2) = at_us(6);
  const auto decoded = decode(encode(m, GetParam()), GetParam());
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(*decoded.message, m);
}

TEST_P(CodecRoundTrip, OtherNamingIsRejectedWithHint) {
  const Naming other = GetParam() == Naming::kService ? Naming::kMc : Naming::kService;
  const auto decoded = decode(encode(full_message(), other), GetParam());
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error.find("unknown field"), std::string::npos) << decoded.error;
  EXPECT_NE(decoded.error.find("message.naming"), std::string::npos) << decoded.error;
}

INSTANTIATE_TEST_SUITE_P(Namings, CodecRoundTrip, ::testing::Values(Naming::kService, Naming::kMc));

TEST(Codec, MissingStampsDecodeAsNull) {
  const auto decoded = decode(R"({"session_id":5,"id":1})", Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_FALSE(decoded.message->at(Hop::kMs1).has_value());
  EXPECT_EQ(decoded.message->session_id, 5);
}

struct Rejection {
  const char* json;
  const char* reason;  // substring of the error
};

class CodecRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(CodecRejects, WithReason) {
  const auto decoded = decode(GetParam().json, Naming::kService);
  ASSERT_FALSE(decoded) << GetParam().json;
  EXPECT_NE(decoded.error.find(GetParam().reason), std::string::npos) << "error was: " << decoded.error;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, CodecRejects,
    ::testing::Values(Rejection{"", "malformed JSON"}, Rejection{"{", "malformed JSON"},
                      Rejection{R"({"id":1,"session_id":2} trailing)", "malformed JSON"},
                      Rejection{"[1,2]", "must be a JSON object"}, Rejection{"42", "must be a JSON object"},
                      Rejection{R"({"session_id":2})", "missing field 'id'"},
                      Rejection{R"({"id":1})", "missing field 'session_id'"},
                      Rejection{R"({"id":"1","session_id":2})", "id must be an integer"},
                      Rejection{R"({"id":1.5,"session_id":2})", "id must be an integer"},
                      Rejection{R"({"id":1,"session_id":true})", "session_id must be an integer"},
                      Rejection{R"({"id":0,"session_id":2})", "id must be >= 1"},
                      Rejection{R"({"id":1,"session_id":-4})", "session_id must be >= 1"},
                      Rejection{R"({"id":18446744073709551615,"session_id":2})", "out of range"},
                      Rejection{R"({"id":1e300,"session_id":2})", "id is out of range"},
                      Rejection{R"({"id":1,"session_id":-3.0})", "session_id must be >= 1"},
                      Rejection{R"({"id":1,"session_id":2,"service1_timestamp":12})", "must be a string or null"},
                      Rejection{R"({"id":1,"session_id":2,"service2_timestamp":"yesterday"})", "must look like"},
                      Rejection{R"({"id":1,"session_id":2,"extra":1})", "unknown field 'extra'"}));

TEST(Codec, IntegralNumbersWrittenWithAFractionAreIntegers) {
  // JSON Schema (and so the OpenAPI document) counts 3.0 as the integer 3.
  const auto decoded = decode(R"({"id":3.0,"session_id":2e0})", Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.message->id, 3);
  EXPECT_EQ(decoded.message->session_id, 2);
  // The parser rounds some large literals a few ulps off; they are still the integers written.
  const auto large = decode(R"({"id":2236514255103855.0,"session_id":4503599627370495.0})", Naming::kService);
  ASSERT_TRUE(large) << large.error;
  EXPECT_EQ(large.message->id, 2236514255103855);
  EXPECT_EQ(large.message->session_id, 4503599627370495);
}

TEST(Stamp, EachHopInOrder) {
  Message m;
  m.id = 1;
  m.session_id = 1;
  for (std::size_t i = 0; i < kHopCount; ++i) {
    EXPECT_EQ(stamp(m, static_cast<Hop>(i), at_us(static_cast<long long>(i))), StampResult::kOk);
  }
  EXPECT_EQ(m.at(Hop::kEnd), at_us(3));
}

TEST(Stamp, RefusesSkippedHop) {
  Message m;
  EXPECT_EQ(stamp(m, Hop::kMs2, at_us(0)), StampResult::kMissingPrevious);
  EXPECT_FALSE(m.at(Hop::kMs2).has_value());
  m.at(Hop::kMs1) = at_us(0);
  EXPECT_EQ(stamp(m, Hop::kMs3, at_us(1)), StampResult::kMissingPrevious);
}

TEST(Stamp, RefusesRestamping) {
  Message m;
  m.at(Hop::kMs1) = at_us(0);
  m.at(Hop::kMs2) = at_us(1);
  EXPECT_EQ(stamp(m, Hop::kMs2, at_us(2)), StampResult::kAlreadyStamped);
  EXPECT_EQ(m.at(Hop::kMs2), at_us(1));
  EXPECT_EQ(stamp(m, Hop::kMs1, at_us(2)), StampResult::kAlreadyStamped);
  EXPECT_NE(to_string(StampResult::kAlreadyStamped), to_string(StampResult::kMissingPrevious));
  EXPECT_EQ(to_string(StampResult::kOk), "ok");
}

TEST(Codec, TraceparentTravelsOnlyWhereAsked) {
  const auto m = full_message();
  const std::string tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const auto json = encode(m, Naming::kService, tp);
  std::string got;
  const auto with = decode(json, Naming::kService, &got);
  ASSERT_TRUE(with) << with.error;
  EXPECT_EQ(*with.message, m);
  EXPECT_EQ(got, tp);
  const auto without = decode(json, Naming::kService);
  ASSERT_FALSE(without) << "a message body (HTTP, Kafka) carries no traceparent key";
  EXPECT_NE(without.error.find("unknown field 'traceparent'"), std::string::npos);
  EXPECT_FALSE(decode(R"({"id":1,"session_id":1,"traceparent":5})", Naming::kService, &got));
  EXPECT_EQ(encode(m, Naming::kService), encode(m, Naming::kService, ""));
}
