// StoreWriter against a fake MessageStore when the database fails: reconnects, refused rows,
// a full queue, stopping, and several threads at once.
#include "store_writer_fixture.hpp"

TEST_F(StoreWriterTest, UnavailableStoreReconnectsOnceAndRetries) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->fail_next("store", Fault::kUnavailable);
  store(1);
  ASSERT_TRUE(completed(1));
  EXPECT_EQ(outcomes(1), Outcomes{StoreOutcome::kStored}) << "the retry on a fresh connection succeeded";
  EXPECT_TRUE(writer.connected());
  EXPECT_EQ(writer.connects(), 2u);
  settle();
  EXPECT_EQ(db_->log(), (Log{"connect", "store 1!", "connect", "store 1"}));
}

TEST_F(StoreWriterTest, StoreStillUnavailableAfterTheRetryIsUnavailable) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->fail_next("store", Fault::kUnavailable);
  db_->fail_next("store", Fault::kUnavailable);
  store(1);
  ASSERT_TRUE(completed(1));
  EXPECT_EQ(outcomes(1), Outcomes{StoreOutcome::kUnavailable});
  // Once failed, the writer reconnects by itself; MS3's redelivery then goes through.
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  store(1);
  ASSERT_TRUE(completed(2));
  EXPECT_EQ(outcomes(1), (Outcomes{StoreOutcome::kUnavailable, StoreOutcome::kStored}));
  settle();
  const auto log = db_->log();
  ASSERT_GE(log.size(), 5u);
  EXPECT_EQ(Log(log.begin(), log.begin() + 4), (Log{"connect", "store 1!", "connect", "store 1!"}))
      << "exactly one reconnect-and-retry per job";
  EXPECT_EQ(std::count(log.begin(), log.end(), "store 1!"), 2);
  EXPECT_EQ(log.back(), "store 1");
}

TEST_F(StoreWriterTest, RetryThatCannotReconnectIsUnavailableUntilTheDatabaseReturns) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->fail_next("store", Fault::kUnavailable);
  db_->set_down(true);
  store(1);
  ASSERT_TRUE(completed(1));
  EXPECT_EQ(outcomes(1), Outcomes{StoreOutcome::kUnavailable});
  EXPECT_FALSE(writer.connected());
  auto log = db_->log();
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(Log(log.begin(), log.begin() + 3), (Log{"connect", "store 1!", "connect!"}));
  db_->set_down(false);
  ASSERT_TRUE(eventually([&] { return writer.connected(); })) << "reconnects while idle, so /healthz recovers";
  EXPECT_EQ(writer.connects(), 2u);
}

TEST_F(StoreWriterTest, RefusedRowIsRejectedWithoutRetry) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->fail_next("store", Fault::kRefused);
  store(1);
  ASSERT_TRUE(completed(1));
  EXPECT_EQ(outcomes(1), Outcomes{StoreOutcome::kRejected});
  EXPECT_TRUE(writer.connected());
  settle();
  EXPECT_EQ(db_->log(), (Log{"connect", "store 1!"}));
  EXPECT_EQ(writer.connects(), 1u);
}

TEST_F(StoreWriterTest, RefusedRowInABatchIsTheOnlyOneRejected) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->refuse_row(3);
  db_->hold("store");
  store(1);
  ASSERT_TRUE(db_->wait_held());
  for (int id = 2; id <= 4; ++id) store(id);
  db_->release();
  ASSERT_TRUE(completed(4));
  settle();
  EXPECT_EQ(outcomes(2), Outcomes{StoreOutcome::kStored});
  EXPECT_EQ(outcomes(3), Outcomes{StoreOutcome::kRejected});
  EXPECT_EQ(outcomes(4), Outcomes{StoreOutcome::kStored});
  EXPECT_EQ(db_->log(), (Log{"connect", "store 1", "store 2,3,4!", "store 2", "store 3!", "store 4"}));
  EXPECT_EQ(on_loop([&] { return completions_; }), 4u);
  EXPECT_EQ(writer.connects(), 1u);
}

TEST_F(StoreWriterTest, DatabaseDownAnswersUnavailableAndRecoversWithoutTraffic) {
  db_->set_down(true);
  auto& writer = start();
  // Several attempts with nothing queued: the writer keeps trying on its own, with backoff.
  ASSERT_TRUE(eventually([&] {
    const auto log = db_->log();
    return std::count(log.begin(), log.end(), "connect!") >= 3;
  }));
  EXPECT_FALSE(writer.connected());
  EXPECT_EQ(writer.connects(), 0u);
  store(1);
  begin();
  ASSERT_TRUE(completed(2));
  EXPECT_EQ(outcomes(1), Outcomes{StoreOutcome::kUnavailable});
  EXPECT_EQ(events().back(), "begin failed: database unavailable");
  db_->set_down(false);
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  EXPECT_EQ(writer.connects(), 1u);
  store(1);
  ASSERT_TRUE(completed(3));
  EXPECT_EQ(outcomes(1), (Outcomes{StoreOutcome::kUnavailable, StoreOutcome::kStored}));
  EXPECT_EQ(db_->rows(), (std::set<Key>{{1, 1}}));
}

TEST_F(StoreWriterTest, FullQueueAnswersOverloadedAtOnce) {
  auto options = fast_options();
  options.queue_max = 3;
  auto& writer = start(options);
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->hold("store");
  store(1);
  ASSERT_TRUE(db_->wait_held());
  store(2);
  store(3);
  store(4);
  EXPECT_EQ(writer.queue_depth(), 3u);
  store(5);
  begin();
  finish(1);
  // Answered while the writer is still parked: the refusals never went through its queue.
  ASSERT_TRUE(completed(3));
  EXPECT_EQ(outcomes(5), Outcomes{StoreOutcome::kOverloaded});
  EXPECT_EQ(events(), (Log{"store 5", "begin failed: database writer is overloaded or stopping",
                           "finish 1 failed: database writer is overloaded or stopping"}));
  EXPECT_EQ(writer.queue_depth(), 3u);
  db_->release();
  ASSERT_TRUE(completed(7));
  settle();
  for (int id = 1; id <= 4; ++id) EXPECT_EQ(outcomes(id), Outcomes{StoreOutcome::kStored}) << "#" << id;
  EXPECT_EQ(outcomes(5), Outcomes{StoreOutcome::kOverloaded});
  EXPECT_EQ(db_->rows().count(Key{1, 5}), 0u);
}

TEST_F(StoreWriterTest, StopRunsWhatIsQueuedAndIsIdempotent) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->hold("store");
  store(1);
  ASSERT_TRUE(db_->wait_held());
  for (int id = 2; id <= 5; ++id) store(id);
  finish(1);
  std::thread stopper([&] { writer.stop(); });  // blocks until the writer has run the queue
  // Until stop() has closed the queue, a probe is accepted (and must be stored too); the first
  // refused one shows that what remains queued is now run under stop().
  std::int64_t probe = 100;
  const bool refused = eventually(
      [&] {
        ++probe;
        return on_loop([&] {
          const auto before = writer.queue_depth();
          writer.store(message(probe), {}, IdCheck::kDone, record({1, probe}));
          return writer.queue_depth() == before;
        });
      },
      kDeadline, std::chrono::milliseconds(0));
  EXPECT_TRUE(refused) << "stop() never stopped accepting jobs";
  EXPECT_GE(writer.queue_depth(), 5u) << "jobs queued before stop() are still there";
  db_->release();
  stopper.join();
  EXPECT_EQ(writer.queue_depth(), 0u);
  on_loop([] {});
  for (int id = 1; id <= 5; ++id) EXPECT_EQ(outcomes(id), Outcomes{StoreOutcome::kStored}) << "#" << id;
  for (auto id = std::int64_t{101}; id < probe; ++id) EXPECT_EQ(outcomes(id), Outcomes{StoreOutcome::kStored}) << "#" << id;
  EXPECT_EQ(outcomes(probe), Outcomes{StoreOutcome::kOverloaded});
  const auto done = events();
  EXPECT_NE(std::find(done.begin(), done.end(), "finish 1"), done.end());

  writer.stop();  // again: returns at once
  writer.stop();
  store(1, 2);
  finish(2);
  on_loop([] {});
  EXPECT_EQ(outcomes(1, 2), Outcomes{StoreOutcome::kOverloaded});
  EXPECT_EQ(events().back(), "finish 2 failed: database writer is overloaded or stopping");
  EXPECT_EQ(db_->rows().count(Key{2, 1}), 0u);
  expect_all_on_loop();
}

TEST_F(StoreWriterTest, DestructorRunsWhatIsQueued) {
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  db_->hold("store");
  store(1);
  ASSERT_TRUE(db_->wait_held());
  store(2);
  store(3);
  std::thread destroyer([&] { writer_.reset(); });
  db_->release();
  destroyer.join();
  on_loop([] {});
  for (int id = 1; id <= 3; ++id) EXPECT_EQ(outcomes(id), Outcomes{StoreOutcome::kStored}) << "#" << id;
  EXPECT_EQ(db_->rows().size(), 3u);
}

TEST_F(StoreWriterTest, ConcurrentStoresFromSeveralThreadsEachCompleteOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  auto options = fast_options();
  options.batch_max = 16;
  auto& writer = start(options);
  std::atomic<int> producing{kThreads};
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, session = t + 1] {
      // Every message twice: the second is the redelivery the database must see as a duplicate.
      for (int round = 0; round < 2; ++round) {
        for (int id = 1; id <= kPerThread; ++id) {
          writer.store(message(id, session), {}, IdCheck::kDone, record({session, id}));
        }
      }
      producing.fetch_sub(1);
    });
  }
  // The accessors MS1's /metrics and /healthz read, from yet another thread.
  std::size_t max_depth = 0;
  std::thread observer([&] {
    while (producing.load() > 0) {
      max_depth = std::max(max_depth, writer.queue_depth());
      (void)writer.connected();
      (void)writer.connects();
      std::this_thread::yield();
    }
  });
  for (auto& p : producers) p.join();
  observer.join();
  constexpr std::size_t kTotal = 2 * kThreads * kPerThread;
  ASSERT_TRUE(completed(kTotal));
  settle();
  EXPECT_EQ(on_loop([&] { return completions_; }), kTotal);
  for (int session = 1; session <= kThreads; ++session) {
    for (int id = 1; id <= kPerThread; ++id) {
      ASSERT_EQ(outcomes(id, session), (Outcomes{StoreOutcome::kStored, StoreOutcome::kDuplicate}))
          << "session " << session << " #" << id;
    }
  }
  EXPECT_EQ(db_->rows().size(), static_cast<std::size_t>(kThreads * kPerThread));
  const auto sizes = db_->batch_sizes();
  std::size_t rows = 0;
  for (auto size : sizes) {
    EXPECT_LE(size, 16u);
    rows += size;
  }
  EXPECT_EQ(rows, kTotal);
  EXPECT_LE(max_depth, kTotal);
  EXPECT_EQ(writer.connects(), 1u);
  expect_all_on_loop();
}

TEST_F(StoreWriterTest, ContendedFullQueueAnswersEveryStoreOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  auto options = fast_options();
  options.queue_max = 8;
  auto& writer = start(options);
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, session = t + 1] {
      for (int id = 1; id <= kPerThread; ++id) {
        writer.store(message(id, session), {}, IdCheck::kDone, record({session, id}));
      }
    });
  }
  for (auto& p : producers) p.join();
  constexpr std::size_t kTotal = kThreads * kPerThread;
  ASSERT_TRUE(completed(kTotal));
  settle();
  EXPECT_EQ(on_loop([&] { return completions_; }), kTotal);
  const auto rows = db_->rows();
  for (int session = 1; session <= kThreads; ++session) {
    for (int id = 1; id <= kPerThread; ++id) {
      const auto got = outcomes(id, session);
      ASSERT_EQ(got.size(), 1u) << "session " << session << " #" << id;
      // A row is in the table exactly when its sender was told it is stored.
      EXPECT_EQ(got[0] == StoreOutcome::kStored, rows.count(Key{session, id}) == 1) << "session " << session << " #" << id;
      EXPECT_TRUE(got[0] == StoreOutcome::kStored || got[0] == StoreOutcome::kOverloaded);
    }
  }
  expect_all_on_loop();
}

TEST_F(StoreWriterTest, FirstConnectionClosesSessionsLeftOpenAndReconnectsDoNot) {
  db_->leave_open({40, 41});
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  EXPECT_EQ(db_->close_calls(), 1);
  // The connection drops and comes back: a session this MS1 runs now must stay open.
  db_->leave_open({42});
  db_->fail_next("store", Fault::kUnavailable);
  store(1);
  ASSERT_TRUE(completed(1));
  ASSERT_TRUE(eventually([&] { return writer.connects() >= 2; }));
  settle();
  EXPECT_EQ(db_->close_calls(), 1) << "only the first connection of the process closes open sessions";
}

TEST_F(StoreWriterTest, RefusedCloseOfInterruptedSessionsDoesNotKeepTheWriterDown) {
  db_->fail_next("close", Fault::kRefused);
  auto& writer = start();
  ASSERT_TRUE(eventually([&] { return writer.connected(); }));
  store(1);
  ASSERT_TRUE(completed(1));
  settle();
  EXPECT_EQ(outcomes(1), Outcomes{StoreOutcome::kStored});
  EXPECT_EQ(db_->close_calls(), 1);
}
