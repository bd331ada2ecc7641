#include <gtest/gtest.h>

#include <vector>

#include "ringtrace/ms1/ring/session_controller.hpp"
#include "fake_session_port.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using common::Hop;
using common::Message;

using fakes::FakePort;
using fakes::t0;

TEST(SessionController, SettingsAreTheConfiguredOnesUntilASessionBringsItsOwn) {
  FakePort port;
  SessionController c(port, {30, 4});
  port.controller = &c;
  EXPECT_EQ(c.settings().duration_seconds, 30) << "before any session: what it was configured with";
  EXPECT_EQ(c.settings().window, 4);
  ASSERT_TRUE(c.start(7, {5, 2}, t0));
  EXPECT_EQ(c.settings().duration_seconds, 5);
  EXPECT_EQ(c.settings().window, 2);
  EXPECT_EQ(port.sent.size(), 2u) << "the window is the session's own";
  c.stop(StopReason::kStopped, t0);
  for (const auto& m : std::vector<Message>(port.sent)) c.on_stored(port.returned(m), t0);
  EXPECT_EQ(c.settings().window, 2) << "after it: the last session's";
}

TEST(SessionController, WindowOneSendsOneAtATime) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  ASSERT_TRUE(c.start(7, {10, 1}, t0));
  ASSERT_EQ(port.sent.size(), 1u);
  EXPECT_EQ(port.sent[0].id, 1);
  EXPECT_EQ(port.sent[0].session_id, 7);
  EXPECT_TRUE(port.sent[0].at(Hop::kMs1).has_value());
  EXPECT_FALSE(port.sent[0].at(Hop::kMs2).has_value());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(c.on_stored(port.returned(port.sent.back()), t0));
  }
  ASSERT_EQ(port.sent.size(), 6u);
  for (std::size_t i = 0; i < port.sent.size(); ++i) EXPECT_EQ(port.sent[i].id, static_cast<std::int64_t>(i + 1));
  const auto s = c.status(t0 + std::chrono::seconds(2));
  EXPECT_EQ(s.state, SessionState::kRunning);
  EXPECT_EQ(s.sent, 6);
  EXPECT_EQ(s.stored, 5);
  EXPECT_EQ(s.in_flight, 1);
  EXPECT_EQ(s.elapsed, std::chrono::seconds(2));
}

TEST(SessionController, WindowKeepsNInFlight) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  ASSERT_TRUE(c.start(1, {10, 4}, t0));
  ASSERT_EQ(port.sent.size(), 4u);
  // Out-of-order return of #3 refills one slot with #5.
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[2]), t0));
  ASSERT_EQ(port.sent.size(), 5u);
  EXPECT_EQ(port.sent.back().id, 5);
  EXPECT_EQ(c.status(t0).in_flight, 4);
}

TEST(SessionController, DuplicatesAndForeignMessagesAreNotCounted) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  ASSERT_TRUE(c.start(3, {10, 1}, t0));
  const auto first = port.sent[0];
  EXPECT_TRUE(c.on_stored(port.returned(first), t0));
  EXPECT_FALSE(c.on_stored(port.returned(first), t0)) << "a duplicate must not count twice";
  Message foreign = port.returned(port.sent[1]);
  foreign.session_id = 2;
  EXPECT_FALSE(c.on_stored(foreign, t0));
  Message never_sent = port.returned(port.sent[1]);
  never_sent.id = 99;
  EXPECT_FALSE(c.on_stored(never_sent, t0));
  EXPECT_EQ(c.status(t0).stored, 1);
  EXPECT_EQ(port.sent.size(), 2u);
}

TEST(SessionController, StopWithNothingInFlightFinishesAtOnce) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  port.link_up = false;  // nothing can be sent, so nothing is in flight
  ASSERT_TRUE(c.start(4, {10, 1}, t0));
  c.stop(StopReason::kStopped, t0 + std::chrono::milliseconds(1500));
  ASSERT_EQ(port.summaries.size(), 1u);
  const auto& s = port.summaries[0];
  EXPECT_EQ(s.session_id, 4);
  EXPECT_EQ(s.reason, StopReason::kStopped);
  EXPECT_EQ(s.sent, 0);
  EXPECT_EQ(s.elapsed, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.state(), SessionState::kIdle);
}

TEST(SessionController, DrainWaitsForInFlightThenFinishes) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  ASSERT_TRUE(c.start(5, {10, 3}, t0));
  c.stop(StopReason::kDuration, t0 + std::chrono::seconds(10));
  EXPECT_EQ(c.state(), SessionState::kDraining);
  EXPECT_TRUE(port.summaries.empty());
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[0]), t0 + std::chrono::seconds(10)));
  EXPECT_EQ(port.sent.size(), 3u) << "no new messages while draining";
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[1]), t0 + std::chrono::seconds(10)));
  EXPECT_TRUE(port.summaries.empty());
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[2]), t0 + std::chrono::seconds(11)));
  ASSERT_EQ(port.summaries.size(), 1u);
  EXPECT_EQ(port.summaries[0].sent, 3);
  EXPECT_EQ(port.summaries[0].stored, 3);
  EXPECT_EQ(port.summaries[0].lost, 0);
  EXPECT_EQ(port.summaries[0].reason, StopReason::kDuration);
  EXPECT_EQ(port.summaries[0].elapsed, std::chrono::seconds(11));
}

TEST(SessionController, DrainTimeoutCountsLost) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  ASSERT_TRUE(c.start(6, {10, 2}, t0));
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[0]), t0));
  c.stop(StopReason::kShutdown, t0);
  c.on_drain_timeout(t0 + std::chrono::seconds(5));
  ASSERT_EQ(port.summaries.size(), 1u);
  EXPECT_EQ(port.summaries[0].sent, 3);
  EXPECT_EQ(port.summaries[0].stored, 1);
  EXPECT_EQ(port.summaries[0].lost, 2);
  EXPECT_EQ(port.summaries[0].reason, StopReason::kShutdown);
  // Late arrivals after the finish belong to no session.
  EXPECT_FALSE(c.on_stored(port.returned(port.sent[1]), t0));
  c.on_drain_timeout(t0);
  EXPECT_EQ(port.summaries.size(), 1u) << "finished exactly once";
}

TEST(SessionController, SecondStartIsRefusedAndStopWhileIdleIsIgnored) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  c.stop(StopReason::kStopped, t0);
  EXPECT_TRUE(port.summaries.empty());
  ASSERT_TRUE(c.start(1, {10, 1}, t0));
  EXPECT_FALSE(c.start(2, {10, 1}, t0));
  EXPECT_EQ(c.status(t0).session_id, 1);
  c.stop(StopReason::kStopped, t0);
  c.stop(StopReason::kDuration, t0);  // already draining: no change of reason
  c.on_drain_timeout(t0);
  ASSERT_EQ(port.summaries.size(), 1u);
  EXPECT_EQ(port.summaries[0].reason, StopReason::kStopped);
  ASSERT_TRUE(c.start(2, {10, 1}, t0)) << "a new session may start after the previous finished";
  EXPECT_EQ(port.sent.back().session_id, 2);
  EXPECT_EQ(port.sent.back().id, 1) << "ids restart at 1 in each session";
}

TEST(SessionController, LinkDownPausesAndLinkUpResendsInFlight) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  ASSERT_TRUE(c.start(8, {10, 2}, t0));
  ASSERT_EQ(port.sent.size(), 2u);
  port.link_up = false;
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[0]), t0));
  EXPECT_EQ(port.sent.size(), 2u) << "nothing generated while the link is down";
  EXPECT_EQ(c.status(t0).sent, 2);
  port.link_up = true;
  c.on_link_up(t0);
  // #2 was in flight (maybe lost with the link): resent with the same id; then #3 fills the window.
  ASSERT_EQ(port.sent.size(), 4u);
  EXPECT_EQ(port.sent[2].id, 2);
  EXPECT_EQ(port.sent[2].at(Hop::kMs1), port.sent[1].at(Hop::kMs1)) << "a resend is the same message";
  EXPECT_EQ(port.sent[3].id, 3);
  EXPECT_EQ(c.status(t0).sent, 3);
}

TEST(SessionController, AtMostOnceGivesUpWhatWasInFlightWhenTheLinkDrops) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  SessionSettings settings{10, 2};
  settings.resend = false;
  ASSERT_TRUE(c.start(9, settings, t0));
  ASSERT_EQ(port.sent.size(), 2u);
  port.link_up = false;
  c.on_link_down(t0);
  EXPECT_EQ(c.status(t0).in_flight, 0);
  EXPECT_EQ(c.status(t0).lost, 2);
  port.link_up = true;
  c.on_link_up(t0);
  ASSERT_EQ(port.sent.size(), 4u) << "new messages fill the window; nothing is resent";
  EXPECT_EQ(port.sent[2].id, 3);
  EXPECT_EQ(port.sent[3].id, 4);
  EXPECT_EQ(port.resends, 0);
  // #1 got through after all: stored, but it is no longer ours to count.
  EXPECT_FALSE(c.on_stored(port.returned(port.sent[0]), t0));
  c.stop(StopReason::kStopped, t0);
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[2]), t0));
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[3]), t0));
  ASSERT_EQ(port.summaries.size(), 1u);
  EXPECT_EQ(port.summaries[0].sent, 4);
  EXPECT_EQ(port.summaries[0].stored, 2);
  EXPECT_EQ(port.summaries[0].lost, 2);
  EXPECT_EQ(port.summaries[0].resent, 0);
}

TEST(SessionController, AtMostOnceLinkDropWhileDrainingFinishesTheSession) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  SessionSettings settings{10, 1};
  settings.resend = false;
  ASSERT_TRUE(c.start(9, settings, t0));
  c.stop(StopReason::kDuration, t0);
  EXPECT_TRUE(port.summaries.empty());
  c.on_link_down(t0);
  ASSERT_EQ(port.summaries.size(), 1u);
  EXPECT_EQ(port.summaries[0].lost, 1);
}

TEST(SessionController, AtLeastOnceKeepsInFlightAcrossALinkDrop) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  ASSERT_TRUE(c.start(9, {10, 2}, t0));
  c.on_link_down(t0);
  EXPECT_EQ(c.status(t0).in_flight, 2);
  EXPECT_EQ(c.status(t0).lost, 0);
  c.on_link_up(t0);
  EXPECT_EQ(port.resends, 2);
  EXPECT_EQ(c.status(t0).resent, 2);
}

TEST(SessionController, LateMessageIsResentAtLeastOnce) {
  using std::chrono::milliseconds;
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  SessionSettings settings{10, 2, true, milliseconds(500)};
  ASSERT_TRUE(c.start(3, settings, t0));
  c.on_tick(t0 + milliseconds(499));
  EXPECT_EQ(port.sent.size(), 2u) << "nothing is late yet";
  EXPECT_TRUE(c.on_stored(port.returned(port.sent[1]), t0 + milliseconds(400)));  // #3 goes out at 400 ms
  ASSERT_EQ(port.sent.size(), 3u);
  c.on_tick(t0 + milliseconds(500));
  ASSERT_EQ(port.sent.size(), 4u) << "#1 is late: sent again";
  EXPECT_EQ(port.sent[3].id, 1);
  EXPECT_EQ(port.sent[3].at(Hop::kMs1), port.sent[0].at(Hop::kMs1));
  c.on_tick(t0 + milliseconds(899));
  EXPECT_EQ(port.sent.size(), 4u) << "the resend restarted #1's clock; #3 is not late yet";
  c.on_tick(t0 + milliseconds(1000));
  ASSERT_EQ(port.sent.size(), 6u) << "#1 (again) and #3 are late";
  EXPECT_EQ(c.status(t0).resent, 3);
  EXPECT_EQ(c.status(t0).in_flight, 2);
  // The link is down: a late message waits for on_link_up() instead of being counted.
  port.link_up = false;
  c.on_tick(t0 + milliseconds(2000));
  EXPECT_EQ(c.status(t0).resent, 3);
}

TEST(SessionController, LateMessageIsGivenUpAtMostOnce) {
  using std::chrono::milliseconds;
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  SessionSettings settings{10, 1, false, milliseconds(500)};
  ASSERT_TRUE(c.start(3, settings, t0));
  c.on_tick(t0 + milliseconds(600));
  ASSERT_EQ(port.sent.size(), 2u) << "#1 given up, #2 takes its place";
  EXPECT_EQ(port.sent[1].id, 2);
  EXPECT_EQ(c.status(t0).lost, 1);
  EXPECT_EQ(port.resends, 0);
  c.stop(StopReason::kDuration, t0 + milliseconds(700));
  c.on_tick(t0 + milliseconds(1200));
  ASSERT_EQ(port.summaries.size(), 1u) << "the last late message ends the drain";
  EXPECT_EQ(port.summaries[0].lost, 2);
  EXPECT_EQ(port.summaries[0].stored, 0);
}

TEST(SessionController, NoTimeoutNoTicks) {
  FakePort port;
  SessionController c(port);
  port.controller = &c;
  ASSERT_TRUE(c.start(3, {10, 1}, t0));
  c.on_tick(t0 + std::chrono::hours(1));
  EXPECT_EQ(port.sent.size(), 1u);
  EXPECT_EQ(c.status(t0).lost, 0);
}

TEST(SessionController, StateNames) {
  EXPECT_EQ(to_string(SessionState::kIdle), "idle");
  EXPECT_EQ(to_string(SessionState::kRunning), "running");
  EXPECT_EQ(to_string(SessionState::kDraining), "draining");
  EXPECT_EQ(to_string(SessionState::kStarting), "starting");
  EXPECT_EQ(to_string(SessionState::kFinishing), "finishing");
  EXPECT_EQ(to_string(StopReason::kDuration), "duration");
  EXPECT_EQ(to_string(StopReason::kStopped), "stop");
  EXPECT_EQ(to_string(StopReason::kShutdown), "shutdown");
}

TEST(SessionController, StartingIsAStateAndCanBeCancelled) {
  FakePort port;
  SessionController c(port);
  ASSERT_TRUE(c.begin_start());
  EXPECT_EQ(c.state(), SessionState::kStarting);
  EXPECT_FALSE(c.begin_start()) << "one start at a time";
  EXPECT_FALSE(c.active());
  c.stop(StopReason::kStopped, t0);
  EXPECT_EQ(c.state(), SessionState::kStarting) << "nothing to stop before the id is known";
  c.cancel_start();
  EXPECT_EQ(c.state(), SessionState::kIdle);
  c.cancel_start();
  EXPECT_EQ(c.state(), SessionState::kIdle);
  ASSERT_TRUE(c.begin_start());
  ASSERT_TRUE(c.start(3, {10, 1}, t0));
  EXPECT_EQ(c.state(), SessionState::kRunning);
  EXPECT_TRUE(c.active());
  EXPECT_EQ(port.sent.size(), 1u);
}

TEST(SessionController, FinishingLastsUntilRecorded) {
  FakePort port;  // records nothing by itself: the session stays finishing
  SessionController c(port);
  ASSERT_TRUE(c.start(4, {10, 1}, t0));
  c.stop(StopReason::kStopped, t0 + std::chrono::seconds(1));
  EXPECT_EQ(c.state(), SessionState::kDraining);
  ASSERT_TRUE(c.on_stored(port.returned(port.sent[0]), t0 + std::chrono::seconds(1)));
  ASSERT_EQ(port.summaries.size(), 1u);
  EXPECT_EQ(c.state(), SessionState::kFinishing);
  const auto s = c.status(t0 + std::chrono::seconds(5));
  EXPECT_EQ(s.elapsed, SteadyClock::duration::zero()) << "elapsed counts only while messages travel";
  EXPECT_EQ(s.in_flight, 0);
  EXPECT_FALSE(c.begin_start());
  EXPECT_FALSE(c.start(5, {10, 1}, t0)) << "no new session before the last is recorded";
  c.on_link_up(t0);
  EXPECT_EQ(port.sent.size(), 1u);
  c.recorded();
  EXPECT_EQ(c.state(), SessionState::kIdle);
  c.recorded();
  EXPECT_EQ(c.state(), SessionState::kIdle);
  EXPECT_TRUE(c.start(5, {10, 1}, t0));
}
