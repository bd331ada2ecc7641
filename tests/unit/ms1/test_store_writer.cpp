// StoreWriter against a fake MessageStore: connecting, batching, ordering and session jobs.
#include "store_writer_fixture.hpp"

TEST_F(StoreWriterTest, ConnectsByItselfAndJobsWaitForTheConnection) {
  db_->hold("connect");
  auto& writer = start();
  ASSERT_TRUE(db_->wait_held());
  EXPECT_FALSE(writer.connected());
  EXPECT_EQ(writer.connects(), 0u);
  store(1);
  EXPECT_EQ(writer.queue_depth(), 1u) << "a job waits while the first connection is being made";
  db_->release();
  ASSERT_TRUE(completed(1));
  EXPECT_EQ(outcomes(1), Outcomes{StoreOutcome::kStored});
  EXPECT_TRUE(writer.connected());
  EXPECT_EQ(writer.connects(), 1u);
  EXPECT_EQ(writer.queue_depth(), 0u);
  settle();
  EXPECT_EQ(db_->log(), (Log{"connect", "store 1"}));
  expect_all_on_loop();
}

TEST_F(StoreWriterTest, EachStoreCompletesOnceOnTheLoopAsStoredOrDuplicate) {
  start();
  store(1);
  store(2);
  ASSERT_TRUE(completed(2));
  store(1);  // MS3 redelivered it
  store(1, 2);  // the same id in another session is another row
  ASSERT_TRUE(completed(4));
  settle();
  EXPECT_EQ(outcomes(1), (Outcomes{StoreOutcome::kStored, StoreOutcome::kDuplicate}));
  EXPECT_EQ(outcomes(2), Outcomes{StoreOutcome::kStored});
  EXPECT_EQ(outcomes(1, 2), Outcomes{StoreOutcome::kStored});
  EXPECT_EQ(on_loop([&] { return completions_; }), 4u);
  EXPECT_EQ(db_->rows(), (std::set<Key>{{1, 1}, {1, 2}, {2, 1}}));
  expect_all_on_loop();
}

TEST_F(StoreWriterTest, ConsecutiveStoresShareOneTransaction) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->hold("store");
  store(1);
  ASSERT_TRUE(db_->wait_held());  // the writer took #1 alone; the rest queue up behind it
  for (int id = 2; id <= 10; ++id) store(id);
  EXPECT_EQ(writer.queue_depth(), 9u);
  db_->release();
  ASSERT_TRUE(completed(10));
  EXPECT_EQ(writer.queue_depth(), 0u);
  settle();
  EXPECT_EQ(db_->log(), concat({{"connect"}, store_ids(1, 1), store_ids(2, 10)}));
  for (int id = 1; id <= 10; ++id) EXPECT_EQ(outcomes(id), Outcomes{StoreOutcome::kStored}) << "#" << id;
}

TEST_F(StoreWriterTest, BatchesStopAtBatchMax) {
  auto options = fast_options();
  options.batch_max = 4;
  auto& writer = start(options);
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->hold("store");
  store(1);
  ASSERT_TRUE(db_->wait_held());
  for (int id = 2; id <= 10; ++id) store(id);
  db_->release();
  ASSERT_TRUE(completed(10));
  settle();
  EXPECT_EQ(db_->log(), concat({{"connect"}, store_ids(1, 1), store_ids(2, 5), store_ids(6, 9), store_ids(10, 10)}));
}

TEST_F(StoreWriterTest, FinishSessionCompletesAfterEveryStoreQueuedBeforeIt) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->hold("store");
  store(1);
  ASSERT_TRUE(db_->wait_held());
  store(2);
  store(3);
  finish(1);
  store(4);
  begin();
  EXPECT_EQ(writer.queue_depth(), 5u);
  db_->release();
  ASSERT_TRUE(completed(6));
  settle();
  // Session jobs end a batch: the rows before them are committed first, those after wait.
  EXPECT_EQ(db_->log(), concat({{"connect"}, store_ids(1, 1), store_ids(2, 3), {"finish 1"}, store_ids(4, 4), {"begin"}}));
  EXPECT_EQ(events(), (Log{"store 1", "store 2", "store 3", "finish 1", "store 4", "begin 42"}));
  expect_all_on_loop();
}

TEST_F(StoreWriterTest, SessionJobsReportTheIdOrTheDatabaseError) {
  start();
  begin();
  ASSERT_TRUE(completed(1));
  db_->fail_next("begin", Fault::kRefused);
  begin();
  db_->fail_next("finish", Fault::kRefused);
  finish(42);
  finish(42);
  ASSERT_TRUE(completed(4));
  settle();
  EXPECT_EQ(events(), (Log{"begin 42", "begin failed: relation \"messages\" does not exist",
                           "finish 42 failed: relation \"messages\" does not exist", "finish 42"}));
  EXPECT_EQ(writer_->connects(), 1u) << "a refused statement is no reason to reconnect";
}

TEST_F(StoreWriterTest, SessionJobsCarryTheClockEstimatesToTheStore) {
  const auto record = [](common::Hop clock, std::int64_t offset) {
    ClockRecord r;
    r.clock = clock;
    r.offset_us = offset;
    r.uncertainty_us = 70;
    r.samples = 3;
    r.measured_at = common::now_utc();
    return r;
  };
  start();
  begin({record(common::Hop::kMs2, 80000), record(common::Hop::kMs3, -50000)});
  ASSERT_TRUE(completed(1));
  auto clocks = db_->clocks(42);
  ASSERT_EQ(clocks.size(), 2u) << "the live estimates are written with the session's row";
  EXPECT_EQ(clocks.at(common::Hop::kMs2).offset_us, 80000);
  EXPECT_EQ(clocks.at(common::Hop::kMs3).offset_us, -50000);
  // The finish replaces them with the session's best, and keeps a start estimate it has no better one for.
  finish(42, {record(common::Hop::kMs2, 80012)});
  ASSERT_TRUE(completed(2));
  clocks = db_->clocks(42);
  EXPECT_EQ(clocks.at(common::Hop::kMs2).offset_us, 80012);
  EXPECT_EQ(clocks.at(common::Hop::kMs3).offset_us, -50000);
  // Without estimates nothing is written.
  begin();
  ASSERT_TRUE(completed(3));
  EXPECT_TRUE(db_->clocks(43).empty());
}

// Messages of sessions other than the running one are checked against the sessions table.

TEST_F(StoreWriterTest, MessagesOfOtherSessionsAreCheckedWithoutFailingTheirBatch) {
  db_->set_session(7, 5);         // closed: sent 5 (or interrupted with stored + window = 5)
  db_->set_session(8, std::nullopt);  // still open, and not the running session: no one's
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->hold("store");
  store(1);
  ASSERT_TRUE(db_->wait_held());  // what follows queues up into one batch
  store(5, 7, IdCheck::kSessions);   // the last id session 7 sent: a late message, stored
  store(6, 7, IdCheck::kSessions);   // beyond it
  store(0, 7, IdCheck::kSessions);   // below the first id
  store(1, 99, IdCheck::kSessions);  // no such session
  store(1, 8, IdCheck::kSessions);   // open row
  store(2);                          // the running session, checked on the loop already
  db_->release();
  ASSERT_TRUE(completed(7));
  settle();
  EXPECT_EQ(outcomes(5, 7), Outcomes{StoreOutcome::kStored});
  EXPECT_EQ(outcomes(6, 7), Outcomes{StoreOutcome::kUnknownId});
  EXPECT_EQ(outcomes(0, 7), Outcomes{StoreOutcome::kUnknownId});
  EXPECT_EQ(outcomes(1, 99), Outcomes{StoreOutcome::kUnknownSession});
  EXPECT_EQ(outcomes(1, 8), Outcomes{StoreOutcome::kUnknownSession});
  EXPECT_EQ(outcomes(2), Outcomes{StoreOutcome::kStored});
  EXPECT_EQ(db_->rows(), (std::set<Key>{{1, 1}, {7, 5}, {1, 2}}));
  // One lookup per session (7's bound is kept), and the accepted rows of the batch in one transaction.
  EXPECT_EQ(db_->log(), (Log{"connect", "store 1", "bound 7", "bound 99", "bound 8", "store 5,2"}));
  expect_all_on_loop();
}

TEST_F(StoreWriterTest, ClosedSessionsAreLookedUpOnceUnknownOnesEveryTime) {
  db_->set_session(7, 5);
  start();
  store(1, 7, IdCheck::kSessions);
  store(1, 99, IdCheck::kSessions);
  ASSERT_TRUE(completed(2));
  db_->set_session(99, 3);  // an unknown session is not remembered as unknown
  store(2, 7, IdCheck::kSessions);
  store(9, 7, IdCheck::kSessions);
  store(1, 99, IdCheck::kSessions);
  ASSERT_TRUE(completed(5));
  settle();
  EXPECT_EQ(outcomes(1, 99), (Outcomes{StoreOutcome::kUnknownSession, StoreOutcome::kStored}));
  EXPECT_EQ(outcomes(9, 7), Outcomes{StoreOutcome::kUnknownId});
  const auto log = db_->log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "bound 7"), 1);
  EXPECT_EQ(std::count(log.begin(), log.end(), "bound 99"), 2);
}

TEST_F(StoreWriterTest, KnownSessionsStartOverBeyondTheirLimit) {
  for (std::int64_t s = 1; s <= 3; ++s) db_->set_session(s, 5);
  auto options = fast_options();
  options.known_sessions_max = 2;
  start(options);
  for (std::int64_t s = 1; s <= 3; ++s) store(1, s, IdCheck::kSessions);  // the third one clears the cache
  ASSERT_TRUE(completed(3));
  store(2, 3, IdCheck::kSessions);  // kept after the clear
  store(2, 1, IdCheck::kSessions);  // forgotten by it
  ASSERT_TRUE(completed(5));
  settle();
  const auto log = db_->log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "bound 1"), 2);
  EXPECT_EQ(std::count(log.begin(), log.end(), "bound 3"), 1);
}

TEST_F(StoreWriterTest, LookupFailuresAreTreatedAsTheStoreIs) {
  db_->set_session(7, 5);
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->fail_next("bound", Fault::kUnavailable);  // the connection dropped: reconnect and retry once
  store(1, 7, IdCheck::kSessions);
  ASSERT_TRUE(completed(1));
  db_->fail_next("bound", Fault::kRefused);
  store(1, 8, IdCheck::kSessions);
  ASSERT_TRUE(completed(2));
  settle();
  EXPECT_EQ(outcomes(1, 7), Outcomes{StoreOutcome::kStored});
  EXPECT_EQ(outcomes(1, 8), Outcomes{StoreOutcome::kRejected});
  EXPECT_EQ(db_->log(), (Log{"connect", "bound 7!", "connect", "bound 7", "store 1", "bound 8!"}));
}

TEST_F(StoreWriterTest, StoresEachRowWithItsTraceId) {
  start();
  common::tracing::TraceId traced{};
  traced.fill(0xab);
  store(1, 1, IdCheck::kDone, traced);
  store(2);  // untraced: all zero
  ASSERT_TRUE(completed(2));
  common::tracing::TraceId other{};
  other.fill(0x01);
  store(1, 1, IdCheck::kDone, other);  // a duplicate leaves the stored row, and its trace, as it was
  ASSERT_TRUE(completed(3));
  settle();
  const auto ids = db_->trace_ids();
  EXPECT_EQ(ids.at({1, 1}), traced);
  EXPECT_EQ(ids.at({1, 2}), common::tracing::TraceId{});
  EXPECT_EQ(trace_id_text(traced), "abababababababababababababababab");
  EXPECT_EQ(trace_id_text(common::tracing::TraceId{}), "");
}
