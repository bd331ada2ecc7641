// The step every hop takes with a message (decode → check → stamp → encode), over plain strings.
#include "ringtrace/common/hop_step.hpp"

#include <gtest/gtest.h>

namespace ringtrace::common {
namespace {

const Timestamp kT1 = *parse_timestamp("2026-11-21T10:15:30.000001Z");
const Timestamp kNow = *parse_timestamp("2026-11-21T10:15:30.000250Z");

/// A message stamped up to and including `last`.
std::string stamped_to(Hop last, Naming naming = Naming::kService) {
  Message m;
  m.id = 3;
  m.session_id = 42;
  for (std::size_t i = 0; i <= static_cast<std::size_t>(last); ++i) m.stamps[i] = kT1;
  return encode(m, naming);
}

TEST(HopStep, StampsTheHopAndEncodesForTheNext) {
  for (const auto hop : {Hop::kMs2, Hop::kMs3}) {
    auto result = run_hop(hop, stamped_to(static_cast<Hop>(static_cast<int>(hop) - 1)), Naming::kService, kNow);
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_EQ(result.message.at(hop), kNow);
    EXPECT_EQ(result.message.session_id, 42);
    EXPECT_EQ(result.message.id, 3);
    auto decoded = decode(result.payload, Naming::kService);
    ASSERT_TRUE(decoded) << decoded.error;
    EXPECT_EQ(*decoded.message, result.message);
  }
}

TEST(HopStep, TheEndHopStoresInsteadOfPassingOn) {
  auto result = run_hop(Hop::kEnd, stamped_to(Hop::kMs3), Naming::kService, kNow);
  ASSERT_TRUE(result.ok()) << result.reason;
  EXPECT_EQ(result.message.at(Hop::kEnd), kNow);
  EXPECT_TRUE(result.payload.empty()) << "nothing is encoded for a next hop that does not exist";
}

TEST(HopStep, MalformedBodiesAreRefusedWithTheDecodersReason) {
  auto result = run_hop(Hop::kMs3, "{\"id\":1,", Naming::kService, kNow);
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
  EXPECT_FALSE(result.reason.empty());
  EXPECT_TRUE(result.payload.empty());
  EXPECT_EQ(result.message, Message{}) << "nothing decoded, nothing to name";
}

TEST(HopStep, TheTraceContextReadBeforeAnErrorIsKept) {
  const std::string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  auto result = run_hop(Hop::kMs2, R"({"traceparent":")" + traceparent + R"(","id":"x"})", Naming::kService, kNow,
                        {.traceparent_in_body = true});
  EXPECT_EQ(result.outcome, HopOutcome::kMalformed);
  EXPECT_EQ(result.traceparent, traceparent) << "the refusal's span joins the sender's trace";
}

TEST(HopStep, TraceparentIsAnUnknownKeyUnlessTheHopReadsIt) {
  auto json = stamped_to(Hop::kMs1);
  json.insert(json.size() - 1, R"(,"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")");
  EXPECT_EQ(run_hop(Hop::kMs2, json, Naming::kService, kNow).outcome, HopOutcome::kMalformed);
  EXPECT_TRUE(run_hop(Hop::kMs2, json, Naming::kService, kNow, {.traceparent_in_body = true}).ok());
}

TEST(HopStep, TheHopsOwnCheckRefusesBeforeStamping) {
  const HopOptions options{.check = [](const Message& m, Naming) {
    return m.id == 3 ? std::string("id 3 is refused here") : std::string();
  }};
  auto result = run_hop(Hop::kMs2, stamped_to(Hop::kMs1), Naming::kService, kNow, options);
  EXPECT_EQ(result.outcome, HopOutcome::kUnstorable);
  EXPECT_EQ(result.reason, "id 3 is refused here");
  EXPECT_FALSE(result.message.at(Hop::kMs2).has_value()) << "refused as decoded, not stamped";
  EXPECT_EQ(result.message.id, 3) << "logs can name it";
}

TEST(HopStep, StampsOutOfOrderAreRefusedAndNamed) {
  auto skipped = run_hop(Hop::kMs3, stamped_to(Hop::kMs1), Naming::kService, kNow);
  EXPECT_EQ(skipped.outcome, HopOutcome::kBadStamps);
  EXPECT_EQ(skipped.reason, to_string(StampResult::kMissingPrevious));
  EXPECT_EQ(skipped.message.session_id, 42);
  auto replayed = run_hop(Hop::kMs2, stamped_to(Hop::kMs2), Naming::kService, kNow);
  EXPECT_EQ(replayed.outcome, HopOutcome::kBadStamps);
  EXPECT_EQ(replayed.reason, to_string(StampResult::kAlreadyStamped));
  EXPECT_TRUE(replayed.payload.empty());
}

TEST(HopStep, TransportRefusalsCarryTheirReason) {
  auto result = refuse(HopOutcome::kNotText, "binary frame");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.outcome, HopOutcome::kNotText);
  EXPECT_EQ(result.reason, "binary frame");
}

TEST(HopStep, OutcomesHaveNames) {
  EXPECT_EQ(to_string(HopOutcome::kOk), "ok");
  EXPECT_EQ(to_string(HopOutcome::kNotText), "not_text");
  EXPECT_EQ(to_string(HopOutcome::kUnsupportedMediaType), "unsupported_media_type");
  EXPECT_EQ(to_string(HopOutcome::kMalformed), "malformed");
  EXPECT_EQ(to_string(HopOutcome::kUnstorable), "unstorable");
  EXPECT_EQ(to_string(HopOutcome::kBadStamps), "bad_stamps");
}

}  // namespace
}  // namespace ringtrace::common
