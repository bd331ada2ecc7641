/// @file
/// MS3's offset bookkeeping with integers only: what is committed, committed again, given up and
/// counted as lag, across rebalances and out-of-order commit answers. No broker, no clock.

#include "ringtrace/ms3/offset_ledger.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

namespace ringtrace::ms3 {
namespace {

using namespace std::chrono_literals;

const Partition kP0{"ringtrace.messages", 0};
const Partition kP1{"ringtrace.messages", 1};
const Partition kOther{"ringtrace.other", 0};

/// A steady time `offset` after an arbitrary start, so no test reads a clock.
OffsetLedger::Clock::time_point at(std::chrono::milliseconds offset) {
  return OffsetLedger::Clock::time_point{} + 1000h + offset;
}

/// The lag against `ends`; a partition missing from it has no known end.
std::int64_t lag(const OffsetLedger& ledger, const Offsets& ends) {
  return ledger.lag([&](const Partition& partition) -> std::optional<std::int64_t> {
    const auto it = ends.find(partition);
    if (it == ends.end()) return std::nullopt;
    return it->second;
  });
}

/// The partitions recommit() found behind, with what it would commit.
Offsets behind(const Recommit& answer) {
  Offsets out;
  for (const auto& entry : answer.behind) out[entry.partition] = entry.done;
  return out;
}

TEST(OffsetLedger, OwnsWhatIsAssignedUntilRevoked) {
  OffsetLedger ledger;
  EXPECT_EQ(ledger.owned(), 0u);
  ledger.assign({kP0, kP1});
  EXPECT_EQ(ledger.owned(), 2u);
  EXPECT_TRUE(ledger.owns(kP0));
  ledger.revoke({kP0});
  EXPECT_EQ(ledger.owned(), 1u);
  EXPECT_FALSE(ledger.owns(kP0));
  EXPECT_TRUE(ledger.owns(kP1));
}

TEST(OffsetLedger, ABatchCommitsTheOffsetAfterItsLastRecordPerPartition) {
  OffsetLedger ledger;
  ledger.assign({kP0, kP1});
  const auto commit = ledger.processed({{kP0, {3, 8}}, {kP1, {0, 2}}}, at(0ms));
  EXPECT_EQ(commit, (Offsets{{kP0, 8}, {kP1, 2}}));
  EXPECT_EQ(ledger.done(), (Offsets{{kP0, 8}, {kP1, 2}}));
  EXPECT_TRUE(ledger.processed({}, at(0ms)).empty());
}

TEST(OffsetLedger, BeforeTheFirstAnswerTheBrokerHoldsWhereReadingStarted) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.processed({{kP0, {3, 8}}}, at(0ms));
  EXPECT_EQ(ledger.held(), (Offsets{{kP0, 3}}));
  EXPECT_EQ(lag(ledger, {{kP0, 10}}), 7) << "from offset 3, where reading started, to the end";

  // A second batch before any answer does not move the starting point.
  ledger.processed({{kP0, {8, 10}}}, at(0ms));
  EXPECT_EQ(ledger.held(), (Offsets{{kP0, 3}}));
  EXPECT_EQ(lag(ledger, {{kP0, 10}}), 7);

  ledger.acknowledged(kP0, 10);
  EXPECT_EQ(lag(ledger, {{kP0, 10}}), 0);
  EXPECT_EQ(lag(ledger, {{kP0, 12}}), 2) << "records produced since";
}

TEST(OffsetLedger, LagSumsOwnedPartitionsWithAKnownEnd) {
  OffsetLedger ledger;
  ledger.assign({kP0, kP1});
  ledger.processed({{kP0, {0, 5}}, {kP1, {0, 5}}}, at(0ms));
  ledger.acknowledged(kP0, 5);
  ledger.acknowledged(kP1, 5);
  EXPECT_EQ(lag(ledger, {{kP0, 9}, {kP1, 7}}), 6);
  EXPECT_EQ(lag(ledger, {{kP1, 7}}), 2) << "a partition without a known end is skipped";
  EXPECT_EQ(lag(ledger, {{kP0, 4}, {kP1, 5}}), 0) << "an end below what is held counts nothing";
}

TEST(OffsetLedger, AnAnswerWithoutAnOffsetIsIgnored) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.processed({{kP0, {0, 5}}}, at(0ms));
  ledger.acknowledged(kP0, 5);
  ledger.acknowledged(kP0, -1001);  // librdkafka's OFFSET_INVALID
  EXPECT_EQ(ledger.held(), (Offsets{{kP0, 5}}));
}

TEST(OffsetLedger, AnAcknowledgedOffsetIsNotCommittedAgain) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.processed({{kP0, {0, 5}}}, at(0ms));
  ledger.acknowledged(kP0, 5);
  const auto answer = ledger.recommit(at(1h));
  EXPECT_TRUE(answer.behind.empty());
  EXPECT_FALSE(answer.due);
}

TEST(OffsetLedger, ARefusedCommitIsMadeAgainAfterTheBackoff) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.processed({{kP0, {0, 5}}}, at(0ms));  // its answer is a refusal: nothing acknowledged

  auto answer = ledger.recommit(at(OffsetLedger::kRecommitAfter - 1ms));
  EXPECT_EQ(behind(answer), (Offsets{{kP0, 5}}));
  EXPECT_FALSE(answer.due) << "the commit may still be on its way";
  ASSERT_EQ(answer.behind.size(), 1u);
  EXPECT_EQ(answer.behind.front().held, std::optional<std::int64_t>(0)) << "where reading started";

  answer = ledger.recommit(at(OffsetLedger::kRecommitAfter));
  EXPECT_EQ(behind(answer), (Offsets{{kP0, 5}}));
  EXPECT_TRUE(answer.due);
  EXPECT_FALSE(ledger.recommit(at(OffsetLedger::kRecommitAfter)).due) << "not twice at once";
}

TEST(OffsetLedger, TheBackoffDoublesToTheMaxWhileRecommitsFailAndResetsOnSuccess) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.processed({{kP0, {0, 5}}}, at(0ms));

  // Every recommit is refused: each waits twice the one before, up to kRecommitMax.
  const std::vector<std::chrono::milliseconds> waits{1s, 2s, 4s, 8s, 16s, 30s, 30s};
  std::chrono::milliseconds now{0};
  for (const auto wait : waits) {
    EXPECT_EQ(ledger.recommit_wait(), wait);
    EXPECT_FALSE(ledger.recommit(at(now + wait - 1ms)).due) << "after " << (now + wait - 1ms).count() << " ms";
    EXPECT_TRUE(ledger.recommit(at(now + wait)).due) << "after " << (now + wait).count() << " ms";
    now += wait;
  }
  EXPECT_EQ(ledger.recommit_wait(), OffsetLedger::kRecommitMax);

  // The broker holds it at last: nothing is behind, and the next refusal waits kRecommitAfter.
  ledger.acknowledged(kP0, 5);
  EXPECT_TRUE(ledger.recommit(at(now + 1ms)).behind.empty());
  EXPECT_EQ(ledger.recommit_wait(), OffsetLedger::kRecommitAfter);
}

TEST(OffsetLedger, ANewBatchRestartsTheBackoff) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.processed({{kP0, {0, 5}}}, at(0ms));
  ASSERT_TRUE(ledger.recommit(at(1s)).due);
  ASSERT_TRUE(ledger.recommit(at(3s)).due);
  EXPECT_EQ(ledger.recommit_wait(), 4s);

  ledger.processed({{kP0, {5, 9}}}, at(4s));
  EXPECT_EQ(ledger.recommit_wait(), OffsetLedger::kRecommitAfter);
  EXPECT_FALSE(ledger.recommit(at(4s + 999ms)).due) << "the new commit was just sent";
  const auto answer = ledger.recommit(at(5s));
  EXPECT_TRUE(answer.due);
  EXPECT_EQ(behind(answer), (Offsets{{kP0, 9}}));
}

// The fix of a cluster fault: an older commit, retried after a coordinator move, lands after a
// newer one and the broker holds the older offset; the highest answer is not what it holds.
TEST(OffsetLedger, AnOlderCommitAnsweredLastLeavesTheOffsetBehind) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.processed({{kP0, {0, 5}}}, at(0ms));
  ledger.processed({{kP0, {5, 10}}}, at(10ms));
  ledger.acknowledged(kP0, 10);
  ledger.acknowledged(kP0, 5);  // the first commit, retried, answered last

  EXPECT_EQ(ledger.held(), (Offsets{{kP0, 5}}));
  EXPECT_EQ(lag(ledger, {{kP0, 10}}), 5) << "the broker holds 5, so five records are not committed";
  auto answer = ledger.recommit(at(10ms + OffsetLedger::kRecommitAfter));
  EXPECT_EQ(behind(answer), (Offsets{{kP0, 10}}));
  EXPECT_TRUE(answer.due);
  ASSERT_EQ(answer.behind.size(), 1u);
  EXPECT_EQ(answer.behind.front().held, std::optional<std::int64_t>(5));

  ledger.acknowledged(kP0, 10);
  EXPECT_TRUE(ledger.recommit(at(1h)).behind.empty());
  EXPECT_EQ(lag(ledger, {{kP0, 10}}), 0);
}

// The fix of a cluster fault: a revoked partition's stale offset is forgotten: not our lag, never
// committed (again, or at close) over its new owner's, not revived when it is assigned back.
TEST(OffsetLedger, ARevokedPartitionsOffsetsAreForgotten) {
  OffsetLedger ledger;
  ledger.assign({kP0, kP1});
  ledger.processed({{kP0, {0, 5}}, {kP1, {0, 5}}}, at(0ms));  // neither acknowledged yet
  ledger.revoke({kP0});
  ledger.acknowledged(kP0, 5);  // an answer after the revocation

  EXPECT_EQ(lag(ledger, {{kP0, 50}, {kP1, 5}}), 5) << "only P1's, from where its reading started";
  EXPECT_EQ(ledger.done(), (Offsets{{kP1, 5}})) << "the final commit";
  EXPECT_EQ(behind(ledger.recommit(at(1h))), (Offsets{{kP1, 5}}));

  // Assigned back after another member committed 40: nothing stale of ours remains.
  ledger.assign({kP0});
  EXPECT_EQ(lag(ledger, {{kP0, 50}, {kP1, 5}}), 5);
  EXPECT_EQ(behind(ledger.recommit(at(2h))), (Offsets{{kP1, 5}}));
  ledger.processed({{kP0, {40, 42}}}, at(2h));
  EXPECT_EQ(ledger.held().at(kP0), 40) << "where reading started this time";
  EXPECT_EQ(lag(ledger, {{kP0, 50}, {kP1, 5}}), 15);
}

TEST(OffsetLedger, ABatchFromARevokedPartitionIsCommittedButNotRemembered) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  EXPECT_EQ(ledger.processed({{kP0, {0, 5}}, {kOther, {0, 3}}}, at(0ms)), (Offsets{{kP0, 5}, {kOther, 3}}));
  EXPECT_EQ(ledger.done(), (Offsets{{kP0, 5}}));
  ledger.acknowledged(kOther, 3);
  EXPECT_FALSE(ledger.held().count(kOther));
  ledger.assign({kOther});
  EXPECT_EQ(lag(ledger, {{kOther, 9}}), 0);
}

TEST(OffsetLedger, ASynchronousCommitIsHeldAndSettlesWhatWasGivenUpBeforeIt) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.give_up({{kP0, 5}});
  ledger.committed({{kP0, 3}});
  EXPECT_EQ(ledger.given_up(), (Offsets{{kP0, 5}})) << "an earlier offset leaves it to commit";
  ledger.committed({{kP0, 9}});
  EXPECT_TRUE(ledger.given_up().empty());
  EXPECT_EQ(ledger.done(), (Offsets{{kP0, 9}}));
  EXPECT_EQ(ledger.held(), (Offsets{{kP0, 9}}));
  EXPECT_TRUE(ledger.recommit(at(1h)).behind.empty());
  EXPECT_EQ(lag(ledger, {{kP0, 9}}), 0);
}

TEST(OffsetLedger, GivenUpOffsetsAreCommittedLaterOnlyForPartitionsStillOwned) {
  OffsetLedger ledger;
  ledger.assign({kP0, kP1});
  ledger.give_up({{kP0, 5}, {kP1, 7}});
  ledger.give_up({{kP0, 3}});
  EXPECT_EQ(ledger.given_up(), (Offsets{{kP0, 5}, {kP1, 7}})) << "the furthest given up stays";

  ledger.revoke({kP1});
  EXPECT_EQ(ledger.given_up(), (Offsets{{kP0, 5}})) << "P1's new owner reads from its committed offset";
  ledger.give_up({{kP1, 9}, {kOther, 2}});
  EXPECT_EQ(ledger.given_up(), (Offsets{{kP0, 5}})) << "given up after the revocation: not ours either";

  ledger.committed(ledger.given_up());
  EXPECT_TRUE(ledger.given_up().empty());
  EXPECT_EQ(ledger.held(), (Offsets{{kP0, 5}}));
  EXPECT_EQ(lag(ledger, {{kP0, 5}}), 0) << "the records given up are not lag for ever";
}

TEST(OffsetLedger, AFreshConsumerHasNothingGivenUp) {
  OffsetLedger ledger;
  ledger.assign({kP0});
  ledger.give_up({{kP0, 5}});
  ledger.forget_given_up();
  EXPECT_TRUE(ledger.given_up().empty());
}

}  // namespace
}  // namespace ringtrace::ms3
