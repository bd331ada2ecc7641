#include "ringtrace/ms3/record_processor.hpp"

#include <gtest/gtest.h>

namespace ringtrace::ms3 {
namespace {

using common::Hop;
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

TEST(RecordProcessor, GoodRecordIsStampedAtMs3) {
  auto result = process_record(message_json(Naming::kService, 2), Naming::kService, kNow);
  ASSERT_EQ(result.outcome, RecordOutcome::kOk) << result.reason;
  EXPECT_EQ(result.session_id, 9);
  EXPECT_EQ(result.id, 7);
  auto decoded = common::decode(result.body, Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.message->at(Hop::kMs1), kT1);
  EXPECT_EQ(decoded.message->at(Hop::kMs2), kT2);
  EXPECT_EQ(decoded.message->at(Hop::kMs3), kNow);
  EXPECT_FALSE(decoded.message->at(Hop::kEnd).has_value());
}

TEST(RecordProcessor, McNamingWorks) {
  auto result = process_record(message_json(Naming::kMc, 2), Naming::kMc, kNow);
  ASSERT_EQ(result.outcome, RecordOutcome::kOk) << result.reason;
  EXPECT_NE(result.body.find("\"MC3_timestamp\":\"2026-11-21T10:15:30.000900Z\""), std::string::npos);
}

TEST(RecordProcessor, BinaryGarbageIsUndecodable) {
  const std::string garbage("\x00\xff\x10garbage", 10);
  auto result = process_record(garbage, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, RecordOutcome::kUndecodable);
  EXPECT_FALSE(result.reason.empty());
  EXPECT_TRUE(result.body.empty());
}

TEST(RecordProcessor, EmptyRecordIsUndecodable) {
  EXPECT_EQ(process_record("", Naming::kService, kNow).outcome, RecordOutcome::kUndecodable);
}

TEST(RecordProcessor, WrongTypeIsUndecodable) {
  auto result = process_record(R"({"id":"1","session_id":2})", Naming::kService, kNow);
  EXPECT_EQ(result.outcome, RecordOutcome::kUndecodable);
  EXPECT_NE(result.reason.find("id"), std::string::npos) << result.reason;
}

TEST(RecordProcessor, OtherNamingIsUndecodable) {
  auto result = process_record(message_json(Naming::kService, 2), Naming::kMc, kNow);
  EXPECT_EQ(result.outcome, RecordOutcome::kUndecodable);
}

TEST(RecordProcessor, RecordThatSkippedMs2HasBadStamps) {
  auto result = process_record(message_json(Naming::kService, 1), Naming::kService, kNow);
  EXPECT_EQ(result.outcome, RecordOutcome::kBadStamps);
  EXPECT_EQ(result.reason, common::to_string(common::StampResult::kMissingPrevious));
  EXPECT_EQ(result.session_id, 9);
}

TEST(RecordProcessor, RecordAlreadyStampedByMs3HasBadStamps) {
  auto result = process_record(message_json(Naming::kService, 3), Naming::kService, kNow);
  EXPECT_EQ(result.outcome, RecordOutcome::kBadStamps);
  EXPECT_EQ(result.reason, common::to_string(common::StampResult::kAlreadyStamped));
}

TEST(RecordProcessor, OutcomesHaveNames) {
  EXPECT_EQ(to_string(RecordOutcome::kOk), "ok");
  EXPECT_EQ(to_string(RecordOutcome::kUndecodable), "undecodable");
  EXPECT_EQ(to_string(RecordOutcome::kBadStamps), "bad_stamps");
}

}  // namespace
}  // namespace ringtrace::ms3
