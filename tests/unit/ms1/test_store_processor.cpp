#include "ringtrace/ms1/ring/store_processor.hpp"

#include <gtest/gtest.h>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms1 {
namespace {

using common::Hop;
using common::HopOutcome;
using common::Naming;

const common::Timestamp kT = *common::parse_timestamp("2026-11-21T10:15:30.000001Z");
const common::Timestamp kNow = *common::parse_timestamp("2026-11-21T10:15:30.000250Z");

/// A message back from MS3: three stamps, the end one missing.
common::Message returned() {
  common::Message m;
  m.id = 3;
  m.session_id = 42;
  m.at(Hop::kMs1) = kT;
  m.at(Hop::kMs2) = kT;
  m.at(Hop::kMs3) = kT;
  return m;
}

TEST(ProcessStore, GoodBodyIsStampedAtTheEnd) {
  const auto out = process_store("application/json", common::encode(returned(), Naming::kService), Naming::kService, kNow);
  ASSERT_EQ(out.outcome, HopOutcome::kOk) << out.reason;
  EXPECT_TRUE(out.reason.empty());
  EXPECT_EQ(out.message.session_id, 42);
  EXPECT_EQ(out.message.id, 3);
  EXPECT_EQ(out.message.at(Hop::kEnd), kNow);
  EXPECT_EQ(out.message.at(Hop::kMs3), kT);
}

TEST(ProcessStore, MissingContentTypeAndJsonWithParametersAreAccepted) {
  const auto body = common::encode(returned(), Naming::kMc);
  EXPECT_EQ(process_store("", body, Naming::kMc, kNow).outcome, HopOutcome::kOk);
  EXPECT_EQ(process_store("Application/JSON; charset=utf-8", body, Naming::kMc, kNow).outcome, HopOutcome::kOk);
  EXPECT_EQ(process_store("application/json charset", body, Naming::kMc, kNow).outcome, HopOutcome::kOk);
}

TEST(ProcessStore, OtherMediaTypesAreRefused) {
  const auto body = common::encode(returned(), Naming::kService);
  for (const char* type : {"text/plain", "application/jsonx", "application/js", "application/x-www-form-urlencoded"}) {
    const auto out = process_store(type, body, Naming::kService, kNow);
    EXPECT_EQ(out.outcome, HopOutcome::kUnsupportedMediaType) << type;
    EXPECT_EQ(out.reason, "Content-Type must be application/json");
  }
}

TEST(ProcessStore, MalformedBodiesAreRefusedWithTheDecoderReason) {
  for (const char* body : {"", "{", "[]", R"({"id":"3","session_id":42})", R"({"id":3})", "null"}) {
    const auto out = process_store("application/json", body, Naming::kService, kNow);
    EXPECT_EQ(out.outcome, HopOutcome::kMalformed) << body;
    EXPECT_FALSE(out.reason.empty()) << body;
  }
}

TEST(ProcessStore, TheOtherNamingIsMalformed) {
  const auto out = process_store("", common::encode(returned(), Naming::kMc), Naming::kService, kNow);
  EXPECT_EQ(out.outcome, HopOutcome::kMalformed);
}

TEST(ProcessStore, StampsBeforeTheYear1000AreUnstorable) {
  auto m = returned();
  m.at(Hop::kMs2) = *common::parse_timestamp("0999-12-31T23:59:59.999999Z");
  const auto out = process_store("", common::encode(m, Naming::kService), Naming::kService, kNow);
  EXPECT_EQ(out.outcome, HopOutcome::kUnstorable);
  EXPECT_EQ(out.reason, std::string(common::field_name(Naming::kService, Hop::kMs2)) +
                            " is before the year 1000, which the database cannot store");
  EXPECT_EQ(out.message.id, 3) << "the decoded message is kept for the log line";
}

TEST(ProcessStore, TheYear1000ItselfIsStorable) {
  auto m = returned();
  m.at(Hop::kMs1) = *common::parse_timestamp("1000-01-01T00:00:00.000000Z");
  EXPECT_EQ(process_store("", common::encode(m, Naming::kService), Naming::kService, kNow).outcome,
            HopOutcome::kOk);
}

TEST(ProcessStore, SkippedHopOrSecondStoreIsBadStamps) {
  auto skipped = returned();
  skipped.at(Hop::kMs3).reset();
  auto out = process_store("", common::encode(skipped, Naming::kService), Naming::kService, kNow);
  EXPECT_EQ(out.outcome, HopOutcome::kBadStamps);
  EXPECT_EQ(out.reason, common::to_string(common::StampResult::kMissingPrevious));
  EXPECT_EQ(out.message.session_id, 42);

  auto stored = returned();
  stored.at(Hop::kEnd) = kT;
  out = process_store("", common::encode(stored, Naming::kService), Naming::kService, kNow);
  EXPECT_EQ(out.outcome, HopOutcome::kBadStamps);
  EXPECT_EQ(out.reason, common::to_string(common::StampResult::kAlreadyStamped));
}

}  // namespace
}  // namespace ringtrace::ms1
