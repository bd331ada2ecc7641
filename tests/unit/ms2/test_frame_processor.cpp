#include "ringtrace/ms2/frame_processor.hpp"

#include <gtest/gtest.h>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms2 {
namespace {

using common::Hop;
using common::HopOutcome;
using common::Naming;

const common::Timestamp kT1 = *common::parse_timestamp("2026-11-21T10:15:30.000001Z");
const common::Timestamp kNow = *common::parse_timestamp("2026-11-21T10:15:30.000250Z");

std::string message_json(Naming naming, bool with_t1 = true, bool with_t2 = false) {
  common::Message m;
  m.id = 3;
  m.session_id = 42;
  if (with_t1) m.at(Hop::kMs1) = kT1;
  if (with_t2) m.at(Hop::kMs2) = kT1;
  return common::encode(m, naming);
}

TEST(FrameProcessor, GoodFrameIsStampedAtMs2AndKeyedBySession) {
  auto result = process_frame(message_json(Naming::kService), true, Naming::kService, kNow);
  ASSERT_EQ(result.outcome, HopOutcome::kOk) << result.reason;
  EXPECT_TRUE(result.reason.empty());
  EXPECT_EQ(result.message.session_id, 42);
  EXPECT_EQ(result.message.id, 3);
  auto decoded = common::decode(result.payload, Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.message->at(Hop::kMs1), kT1);
  EXPECT_EQ(decoded.message->at(Hop::kMs2), kNow);
  EXPECT_FALSE(decoded.message->at(Hop::kMs3).has_value());
  EXPECT_FALSE(decoded.message->at(Hop::kEnd).has_value());
}

TEST(FrameProcessor, McNamingIsKeptOnOutput) {
  auto result = process_frame(message_json(Naming::kMc), true, Naming::kMc, kNow);
  ASSERT_EQ(result.outcome, HopOutcome::kOk) << result.reason;
  EXPECT_NE(result.payload.find("\"MC2_timestamp\":\"2026-11-21T10:15:30.000250Z\""), std::string::npos)
      << result.payload;
}

TEST(FrameProcessor, BinaryFrameIsRejected) {
  auto result = process_frame(message_json(Naming::kService), false, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kNotText);
  EXPECT_NE(result.reason.find("binary"), std::string::npos) << result.reason;
  EXPECT_TRUE(result.payload.empty());
}

TEST(FrameProcessor, MalformedJsonIsRejectedWithReason) {
  auto result = process_frame("{\"id\":1,", true, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
  EXPECT_FALSE(result.reason.empty());
  EXPECT_TRUE(result.payload.empty());
}

TEST(FrameProcessor, GarbageTextIsRejected) {
  auto result = process_frame("hello", true, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
}

TEST(FrameProcessor, OtherNamingIsRejected) {
  auto result = process_frame(message_json(Naming::kMc), true, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
  EXPECT_NE(result.reason.find("MC1_timestamp"), std::string::npos) << result.reason;
}

TEST(FrameProcessor, MissingSessionIdIsRejected) {
  auto result = process_frame(R"({"id":1,"service1_timestamp":null})", true, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
  EXPECT_NE(result.reason.find("session_id"), std::string::npos) << result.reason;
}

TEST(FrameProcessor, MessageThatSkippedMs1IsRejected) {
  auto result = process_frame(message_json(Naming::kService, false), true, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kBadStamps);
  EXPECT_EQ(result.reason, common::to_string(common::StampResult::kMissingPrevious));
  EXPECT_TRUE(result.payload.empty());
}

TEST(FrameProcessor, MessageAlreadyStampedByMs2IsRejected) {
  auto result = process_frame(message_json(Naming::kService, true, true), true, Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kBadStamps);
  EXPECT_EQ(result.reason, common::to_string(common::StampResult::kAlreadyStamped));
}

TEST(FrameProcessor, TraceContextIsReadFromTheFrame) {
  const std::string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  auto json = message_json(Naming::kService);
  json.insert(json.size() - 1, ",\"traceparent\":\"" + traceparent + "\"");
  auto result = process_frame(json, true, Naming::kService, kNow);
  ASSERT_EQ(result.outcome, HopOutcome::kOk) << result.reason;
  EXPECT_EQ(result.traceparent, traceparent);
  EXPECT_EQ(result.payload.find("traceparent"), std::string::npos) << "the record carries it as a header";
}

TEST(FrameProcessor, RecordKeyIsTheSessionOrTheMessage) {
  common::KafkaConfig config;
  EXPECT_EQ(record_key(config, 7, 42), "7");
  EXPECT_EQ(record_key(config, 7, 43), "7") << "a session stays on one partition";
  config.key = "message";
  EXPECT_EQ(record_key(config, 7, 42), "7/42");
  EXPECT_NE(record_key(config, 7, 42), record_key(config, 7, 43));
  EXPECT_NE(record_key(config, 7, 42), record_key(config, 74, 2)) << "the separator keeps ids apart";
}

}  // namespace
}  // namespace ringtrace::ms2
