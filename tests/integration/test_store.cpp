// The storage layer against the real servers, PostgreSQL and MariaDB, with the same test code:
// schema creation with the configured naming, idempotent batched stores, microsecond
// timestamps, session ids across restarts, and the writer thread's completions.
// Servers come from scripts/infra.sh up (RINGTRACE__DATABASE__* overrides host and credentials).
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include <boost/asio/io_context.hpp>

#include "ringtrace/ms1/ring/store_writer.hpp"
#include "ringtrace/test/database.hpp"
#include "ringtrace/test/wait.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using common::Hop;
using common::Message;
using common::Naming;
using test::Backend;
using test::Inspector;

namespace {

Message message(std::int64_t session, std::int64_t id) {
  Message m;
  m.session_id = session;
  m.id = id;
  auto t = common::now_utc();
  for (std::size_t i = 0; i < common::kHopCount; ++i) m.stamps[i] = t + std::chrono::microseconds(i * 17 + 3);
  return m;
}

/// Untraced rows of `messages`, as the writer hands them over with tracing off.
std::vector<StoreRow> untraced(std::vector<Message> messages) {
  std::vector<StoreRow> out;
  for (auto& m : messages) out.push_back({std::move(m), {}});
  return out;
}

/// Runs the loop until `done()` or the deadline.
template <typename Pred>
bool run_until(boost::asio::io_context& ioc, Pred done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  return test::eventually(
      [&] {
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(10));
        return done();
      },
      limit, std::chrono::milliseconds(0));
}

std::string param_name(const std::string& driver, Naming naming) {
  return driver + "_" + std::string(common::to_string(naming));
}

class StoreTest : public ::testing::TestWithParam<std::tuple<std::string, Naming>> {
 protected:
  void SetUp() override {
    store_ = make_store(backend_.config(), naming());
    try {
      store_->connect();
    } catch (const std::exception& e) {
      FAIL() << backend_.driver << " is required (scripts/infra.sh up): " << e.what();
    }
    session_ = store_->begin_session({5, 1}, common::now_utc(), {});
    db_ = std::make_unique<Inspector>(backend_);
  }
  [[nodiscard]] Naming naming() const { return std::get<1>(GetParam()); }
  [[nodiscard]] std::string column(Hop hop) const { return backend_.quote(common::field_name(naming(), hop)); }
  [[nodiscard]] std::string rows() const {
    return db_->scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(session_));
  }

  Backend backend_{std::get<0>(GetParam())};
  std::unique_ptr<MessageStore> store_;
  std::int64_t session_ = 0;
  std::unique_ptr<Inspector> db_;
};

}  // namespace

TEST_P(StoreTest, CreatesSchemaWithMicrosecondColumnsNamedLikeTheJson) {
  for (std::size_t i = 0; i < common::kHopCount; ++i) {
    const auto name = std::string(common::field_name(naming(), static_cast<Hop>(i)));
    EXPECT_EQ(db_->scalar("SELECT concat(data_type, '(', datetime_precision, ')') FROM information_schema.columns"
                          " WHERE table_schema=" + backend_.schema() + " AND table_name='messages' AND column_name='" +
                          name + "'"),
              backend_.timestamp_type())
        << name;
  }
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema=" + backend_.schema() +
                        " AND table_name='sessions'"),
            "1");
  // connect() again is harmless (the schema exists) and keeps the data.
  store_->store(untraced({message(session_, 1)}));
  store_->connect();
  EXPECT_EQ(rows(), "1");
}

TEST_P(StoreTest, StoresOnceAndKeepsMicroseconds) {
  auto batch = untraced({message(session_, 1), message(session_, 2), message(session_, 3)});
  batch[1].message.at(Hop::kEnd).reset();  // a stamp not made is stored as NULL
  EXPECT_EQ(store_->store(batch), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(store_->store(batch), (std::vector<bool>{false, false, false})) << "a second store must change nothing";
  EXPECT_EQ(rows(), "3");
  const auto where = " FROM messages WHERE session_id=" + std::to_string(session_);
  for (std::size_t h = 0; h < common::kHopCount; ++h) {
    EXPECT_EQ(db_->scalar("SELECT " + backend_.as_text(column(static_cast<Hop>(h))) + where + " AND id=1"),
              common::format_timestamp(*batch[0].message.stamps[h]));
  }
  EXPECT_EQ(db_->scalar("SELECT " + column(Hop::kEnd) + where + " AND id=2"), "NULL");
}

TEST_P(StoreTest, StoresTheTraceIdAsLowercaseHexAndNullWhenUntraced) {
  EXPECT_EQ(db_->scalar("SELECT data_type FROM information_schema.columns WHERE table_schema=" + backend_.schema() +
                        " AND table_name='messages' AND column_name='trace_id'"),
            backend_.driver == "postgresql" ? "text" : "char");
  common::tracing::TraceId traced{};
  for (std::size_t i = 0; i < traced.size(); ++i) traced[i] = static_cast<std::uint8_t>(0xa0 + i);
  common::tracing::TraceId other{};
  other.fill(0x11);
  std::vector<StoreRow> batch{{message(session_, 1), traced}, {message(session_, 2), {}}};
  EXPECT_EQ(store_->store(batch), (std::vector<bool>{true, true}));
  const auto where = " FROM messages WHERE session_id=" + std::to_string(session_);
  EXPECT_EQ(db_->scalar("SELECT trace_id" + where + " AND id=1"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  EXPECT_EQ(db_->scalar("SELECT trace_id" + where + " AND id=2"), "NULL") << "all zero is untraced";
  // A duplicate changes nothing, its trace id included: the row keeps the trace of its first store.
  EXPECT_EQ(store_->store(std::vector<StoreRow>{{message(session_, 1), other}}), std::vector<bool>{false});
  EXPECT_EQ(db_->scalar("SELECT trace_id" + where + " AND id=1"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
}

TEST_P(StoreTest, RepeatedKeyWithinOneBatchCountsOnce) {
  const auto m = message(session_, 9);
  EXPECT_EQ(store_->store(untraced({m, m, message(session_, 10)})), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(rows(), "2");
}

TEST_P(StoreTest, SessionIdsNeverRepeatAcrossRestarts) {
  const auto first = session_;
  store_.reset();  // an MS1 restart: a new process, a new connection
  auto again = make_store(backend_.config(), naming());
  again->connect();
  const auto second = again->begin_session({5, 1}, common::now_utc(), {});
  EXPECT_GT(second, first);
  EXPECT_GT(again->begin_session({5, 1}, common::now_utc(), {}), second);
}

TEST_P(StoreTest, FinishRecordsTheOutcome) {
  SessionSummary s;
  s.session_id = session_;
  s.reason = StopReason::kStopped;
  s.sent = 12;
  s.stored = 11;
  s.lost = 1;
  s.elapsed = std::chrono::milliseconds(2500);
  s.finished_at = common::now_utc();
  store_->finish_session(s);
  const auto row = " FROM sessions WHERE session_id=" + std::to_string(session_);
  EXPECT_EQ(db_->scalar("SELECT concat(reason, ',', sent, ',', stored, ',', lost, ',', elapsed_seconds)" + row),
            "stop,12,11,1,2.5");
  EXPECT_EQ(db_->scalar("SELECT naming" + row), std::string(common::to_string(naming())));
  EXPECT_EQ(db_->scalar("SELECT window_size" + row), "1");
  EXPECT_EQ(db_->scalar("SELECT " + backend_.as_text("finished_at") + row), common::format_timestamp(s.finished_at));
}

TEST_P(StoreTest, ClockOffsetsAreWrittenWithTheSessionRowAndUpsertedAtFinish) {
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema=" + backend_.schema() +
                        " AND table_name='clock_offsets' AND column_name IN ('session_id', 'stamp', 'offset_us',"
                        " 'uncertainty_us', 'samples', 'measured_at')"),
            "6");
  const auto record = [](Hop clock, std::int64_t offset, std::int64_t uncertainty, const char* at) {
    ClockRecord r;
    r.clock = clock;
    r.offset_us = offset;
    r.uncertainty_us = uncertainty;
    r.samples = 9;
    r.measured_at = *common::parse_timestamp(at);
    return r;
  };
  const std::vector<ClockRecord> live{record(Hop::kMs2, 80123, 71, "2026-03-04T05:06:07.000001Z"),
                                      record(Hop::kMs3, -49987, 66, "2026-03-04T05:06:07.500000Z"),
                                      record(Hop::kMs1, 1, 1, "2026-03-04T05:06:07.000000Z")};
  const auto s = store_->begin_session({5, 1}, common::now_utc(), live);
  const auto where = " FROM clock_offsets WHERE session_id=" + std::to_string(s);
  const auto of = [&](Hop hop, const std::string& what) {
    return db_->scalar("SELECT " + what + where + " AND stamp='" + std::string(common::field_name(naming(), hop)) + "'");
  };
  EXPECT_EQ(db_->scalar("SELECT count(*)" + where), "2") << "a row a peer clock, none for MS1's own stamp";
  EXPECT_EQ(of(Hop::kMs2, "concat(offset_us, ',', uncertainty_us, ',', samples)"), "80123,71,9");
  EXPECT_EQ(of(Hop::kMs3, "offset_us"), "-49987");
  EXPECT_EQ(of(Hop::kMs2, backend_.as_text("measured_at")), "2026-03-04T05:06:07.000001Z");

  SessionSummary summary;
  summary.session_id = s;
  summary.reason = StopReason::kDuration;
  summary.finished_at = common::now_utc();
  summary.clocks = {record(Hop::kMs3, -50002, 12, "2026-03-04T05:06:11.000002Z")};
  store_->finish_session(summary);
  store_->finish_session(summary);  // a retried finish changes nothing more
  EXPECT_EQ(db_->scalar("SELECT count(*)" + where), "2");
  EXPECT_EQ(of(Hop::kMs3, "concat(offset_us, ',', uncertainty_us, ',', samples)"), "-50002,12,9") << "the session's best";
  EXPECT_EQ(of(Hop::kMs3, backend_.as_text("measured_at")), "2026-03-04T05:06:11.000002Z");
  EXPECT_EQ(of(Hop::kMs2, "offset_us"), "80123") << "no better estimate: the start's stays";
  EXPECT_EQ(db_->scalar("SELECT reason FROM sessions WHERE session_id=" + std::to_string(s)), "duration");
}

TEST_P(StoreTest, SessionsLeftOpenAreClosedAsInterrupted) {
  store_->store(untraced({message(session_, 1), message(session_, 2)}));
  SessionSummary done;
  done.session_id = store_->begin_session({5, 1}, common::now_utc(), {});
  done.reason = StopReason::kDuration;
  done.finished_at = common::now_utc();
  store_->finish_session(done);

  const auto ids = store_->close_interrupted_sessions();  // what the next MS1's first connection does
  const auto row = " FROM sessions WHERE session_id=" + std::to_string(session_);
  EXPECT_EQ(db_->scalar("SELECT reason" + row), "interrupted");
  EXPECT_EQ(db_->scalar("SELECT count(*)" + row + " AND finished_at IS NOT NULL"), "1");
  EXPECT_EQ(db_->scalar("SELECT count(*)" + row + " AND sent IS NULL"), "1") << "nobody knows how many were sent";
  // Tests run in parallel and each closes every open session, so another may have closed ours first.
  if (std::find(ids.begin(), ids.end(), session_) != ids.end()) {
    EXPECT_EQ(db_->scalar("SELECT stored" + row), "2");
  }
  EXPECT_EQ(std::find(ids.begin(), ids.end(), done.session_id), ids.end()) << "a finished session is left alone";
  EXPECT_EQ(db_->scalar("SELECT reason FROM sessions WHERE session_id=" + std::to_string(done.session_id)), "duration");
  const auto again = store_->close_interrupted_sessions();
  EXPECT_EQ(std::find(again.begin(), again.end(), session_), again.end()) << "closed once";
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Combine(::testing::Values("postgresql", "mariadb"),
                                            ::testing::Values(Naming::kService, Naming::kMc)),
                         [](const auto& info) { return param_name(std::get<0>(info.param), std::get<1>(info.param)); });

class StoreServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  Backend backend_{GetParam()};
};

TEST_P(StoreServerTest, UnreachableServerIsUnavailable) {
  auto config = backend_.config();
  config.port = 1;  // nothing listens there
  auto store = make_store(config, Naming::kService);
  EXPECT_THROW(store->connect(), StoreUnavailable);
  EXPECT_THROW(store->store(untraced({message(1, 1)})), StoreUnavailable);
  EXPECT_THROW(store->begin_session({1, 1}, common::now_utc(), {}), StoreUnavailable);
  EXPECT_THROW(store->finish_session({}), StoreUnavailable);
}

TEST_P(StoreServerTest, WrongPasswordIsUnavailableWithReason) {
  auto config = backend_.config();
  config.password = "definitely-wrong";
  auto store = make_store(config, Naming::kService);
  try {
    store->connect();
    FAIL() << "connected with a wrong password";
  } catch (const StoreUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
  }
}

TEST_P(StoreServerTest, WriterBatchesConcurrentStoresAndReportsDuplicates) {
  boost::asio::io_context ioc;
  StoreWriterOptions options;
  options.batch_max = 64;
  StoreWriter writer(make_store(backend_.config(), Naming::kService), ioc.get_executor(), options);

  std::optional<std::int64_t> session;
  writer.begin_session({1, 500}, common::now_utc(), {}, [&](std::optional<std::int64_t> id, const std::string& error) {
    ASSERT_TRUE(id) << error;
    session = id;
  });
  ASSERT_TRUE(run_until(ioc, [&] { return session.has_value(); }));
  EXPECT_TRUE(writer.connected());

  constexpr int kCount = 500;
  std::vector<StoreOutcome> outcomes;
  for (int round = 0; round < 2; ++round) {
    for (int i = 1; i <= kCount; ++i) {
      writer.store(message(*session, i), {}, IdCheck::kDone, [&](StoreOutcome o) { outcomes.push_back(o); });
    }
  }
  ASSERT_TRUE(run_until(ioc, [&] { return outcomes.size() == 2 * kCount; }));
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), StoreOutcome::kStored), kCount);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), StoreOutcome::kDuplicate), kCount);

  std::string finish_error = "pending";
  SessionSummary summary;
  summary.session_id = *session;
  summary.sent = kCount;
  summary.stored = kCount;
  summary.finished_at = common::now_utc();
  writer.finish_session(summary, [&](const std::string& error) { finish_error = error; });
  ASSERT_TRUE(run_until(ioc, [&] { return finish_error != "pending"; }));
  EXPECT_EQ(finish_error, "");
  Inspector db(backend_);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(*session)),
            std::to_string(kCount));
}

TEST_P(StoreServerTest, WriterAnswersUnavailableWithoutBlockingWhenTheServerIsDown) {
  boost::asio::io_context ioc;
  auto config = backend_.config();
  config.port = 1;
  StoreWriter writer(make_store(config, Naming::kService), ioc.get_executor(), {});
  std::optional<StoreOutcome> outcome;
  writer.store(message(1, 1), {}, IdCheck::kDone, [&](StoreOutcome o) { outcome = o; });
  ASSERT_TRUE(run_until(ioc, [&] { return outcome.has_value(); }));
  EXPECT_EQ(*outcome, StoreOutcome::kUnavailable);
  EXPECT_FALSE(writer.connected());
  std::string error;
  bool begun = false;
  writer.begin_session({1, 1}, common::now_utc(), {}, [&](std::optional<std::int64_t> id, const std::string& e) {
    begun = true;
    EXPECT_FALSE(id.has_value());
    error = e;
  });
  ASSERT_TRUE(run_until(ioc, [&] { return begun; }));
  EXPECT_FALSE(error.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreServerTest, ::testing::Values("postgresql", "mariadb"),
                         [](const auto& info) { return info.param; });
