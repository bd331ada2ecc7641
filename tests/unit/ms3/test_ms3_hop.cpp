// MS3's hop: the common step at Hop::kMs3 over what Kafka hands over.
#include <gtest/gtest.h>

#include "ringtrace/common/hop_step.hpp"

namespace ringtrace::ms3 {
namespace {

using common::Hop;
using common::HopOutcome;
using common::Naming;

const common::Timestamp kT1 = *common::parse_timestamp("2026-11-21T10:15:30.000001Z");
const common::Timestamp kT2 = *common::parse_timestamp("2026-11-21T10:15:30.000100Z");
const common::Timestamp kNow = *common::parse_timestamp("2026-11-21T10:15:30.000900Z");

std::string message_json(Naming naming, int stamps) {
  common::Message m;
  m.id = 7;
  m.session_id = 9;
  if (stamps >= 1) m.at(Hop::kMs1) = kT1;
  if (stamps >= 2) m.at(Hop::kMs2) = kT2;
  if (stamps >= 3) m.at(Hop::kMs3) = kT2;
  return common::encode(m, naming);
}

TEST(Ms3Hop, GoodRecordIsStampedAtMs3) {
  auto result = common::run_hop(Hop::kMs3, message_json(Naming::kService, 2), Naming::kService, kNow);
  ASSERT_EQ(result.outcome, HopOutcome::kOk) << result.reason;
  EXPECT_EQ(result.message.session_id, 9);
  EXPECT_EQ(result.message.id, 7);
  auto decoded = common::decode(result.payload, Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.message->at(Hop::kMs1), kT1);
  EXPECT_EQ(decoded.message->at(Hop::kMs2), kT2);
  EXPECT_EQ(decoded.message->at(Hop::kMs3), kNow);
  EXPECT_FALSE(decoded.message->at(Hop::kEnd).has_value());
}

TEST(Ms3Hop, McNamingWorks) {
  auto result = common::run_hop(Hop::kMs3, message_json(Naming::kMc, 2), Naming::kMc, kNow);
  ASSERT_EQ(result.outcome, HopOutcome::kOk) << result.reason;
  EXPECT_NE(result.payload.find("\"MC3_timestamp\":\"2026-11-21T10:15:30.000900Z\""), std::string::npos);
}

TEST(Ms3Hop, BinaryGarbageIsUndecodable) {
  const std::string garbage("\x00\xff\x10garbage", 10);
  auto result = common::run_hop(Hop::kMs3, garbage, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
  EXPECT_FALSE(result.reason.empty());
  EXPECT_TRUE(result.payload.empty());
}

TEST(Ms3Hop, EmptyRecordIsUndecodable) {
  EXPECT_EQ(common::run_hop(Hop::kMs3, "", Naming::kService, kNow).outcome, HopOutcome::kMalformed);
}

TEST(Ms3Hop, WrongTypeIsUndecodable) {
  auto result = common::run_hop(Hop::kMs3, R"({"id":"1","session_id":2})", Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
  EXPECT_NE(result.reason.find("id"), std::string::npos) << result.reason;
}

TEST(Ms3Hop, OtherNamingIsUndecodable) {
  auto result = common::run_hop(Hop::kMs3, message_json(Naming::kService, 2), Naming::kMc, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
}

TEST(Ms3Hop, RecordThatSkippedMs2HasBadStamps) {
  auto result = common::run_hop(Hop::kMs3, message_json(Naming::kService, 1), Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kBadStamps);
  EXPECT_EQ(result.reason, common::to_string(common::StampResult::kMissingPrevious));
  EXPECT_EQ(result.message.session_id, 9);
}

TEST(Ms3Hop, RecordAlreadyStampedByMs3HasBadStamps) {
  auto result = common::run_hop(Hop::kMs3, message_json(Naming::kService, 3), Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kBadStamps);
  EXPECT_EQ(result.reason, common::to_string(common::StampResult::kAlreadyStamped));
}

}  // namespace
}  // namespace ringtrace::ms3
