// Real PostgreSQL: schema creation, idempotent batched stores, session ids across restarts,
// the writer thread's completions. The server comes from scripts/infra.sh (127.0.0.1:5432) or
// RINGTRACE__DATABASE__* variables.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/io_context.hpp>

#include "postgres_store.hpp"
#include "store_writer.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using common::Hop;
using common::Message;
using common::Naming;

namespace {

common::DatabaseConfig db_config() { return common::parse_config("", common::process_environment()).database; }

/// A plain libpq connection for looking at what the store wrote.
class Inspector {
 public:
  Inspector() {
    const auto c = db_config();
    const auto conninfo = "host=" + c.host + " port=" + std::to_string(c.port) + " dbname=" + c.name + " user=" + c.user +
                          " password=" + c.password;
    conn_ = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
  }
  ~Inspector() { PQfinish(conn_); }
  std::string scalar(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      out = PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0);
    } else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      out = std::string("ERROR: ") + PQresultErrorMessage(r);
    }
    PQclear(r);
    return out;
  }

 private:
  PGconn* conn_ = nullptr;
};

Message message(std::int64_t session, std::int64_t id) {
  Message m;
  m.session_id = session;
  m.id = id;
  auto t = common::now_utc();
  for (std::size_t i = 0; i < common::kHopCount; ++i) m.stamps[i] = t + std::chrono::microseconds(i * 17 + 3);
  return m;
}

class PostgresStoreTest : public ::testing::TestWithParam<Naming> {
 protected:
  void SetUp() override {
    store_ = std::make_unique<PostgresStore>(db_config(), GetParam());
    try {
      store_->connect();
    } catch (const std::exception& e) {
      FAIL() << "PostgreSQL is required (scripts/infra.sh up): " << e.what();
    }
    session_ = store_->begin_session({5, 1}, common::now_utc());
  }
  std::string column(Hop hop) const { return "\"" + std::string(common::field_name(GetParam(), hop)) + "\""; }

  std::unique_ptr<PostgresStore> store_;
  std::int64_t session_ = 0;
  Inspector db_;
};

}  // namespace

TEST_P(PostgresStoreTest, CreatesSchemaWithNamedColumns) {
  for (std::size_t i = 0; i < common::kHopCount; ++i) {
    const auto name = std::string(common::field_name(GetParam(), static_cast<Hop>(i)));
    EXPECT_EQ(db_.scalar("SELECT data_type FROM information_schema.columns WHERE table_name='messages' AND column_name='" +
                         name + "'"),
              "timestamp with time zone")
        << name;
  }
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name='sessions'"), "1");
  // connect() again is harmless (the schema exists) and keeps the data.
  store_->store(std::vector{message(session_, 1)});
  store_->connect();
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(session_)), "1");
}

TEST_P(PostgresStoreTest, StoresOnceAndKeepsMicroseconds) {
  std::vector<Message> batch = {message(session_, 1), message(session_, 2), message(session_, 3)};
  batch[1].at(Hop::kEnd).reset();  // a null stamp is stored as NULL
  EXPECT_EQ(store_->store(batch), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(store_->store(batch), (std::vector<bool>{false, false, false})) << "second store must change nothing";
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(session_)), "3");
  const auto where = " FROM messages WHERE session_id=" + std::to_string(session_) + " AND id=1";
  EXPECT_EQ(db_.scalar("SELECT to_char(" + column(Hop::kMs2) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')" + where),
            common::format_timestamp(*batch[0].at(Hop::kMs2)));
  EXPECT_EQ(db_.scalar("SELECT " + column(Hop::kEnd) + " FROM messages WHERE session_id=" + std::to_string(session_) +
                       " AND id=2"),
            "NULL");
}

TEST_P(PostgresStoreTest, RepeatedKeyWithinOneBatchCountsOnce) {
  const auto m = message(session_, 9);
  EXPECT_EQ(store_->store(std::vector{m, m}), (std::vector<bool>{true, false}));
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(session_)), "1");
}

TEST_P(PostgresStoreTest, SessionIdsNeverRepeatAcrossRestarts) {
  const auto first = session_;
  store_.reset();  // an MS1 restart: a new process, a new connection
  PostgresStore again(db_config(), GetParam());
  again.connect();
  const auto second = again.begin_session({5, 1}, common::now_utc());
  EXPECT_GT(second, first);
  EXPECT_GT(again.begin_session({5, 1}, common::now_utc()), second);
}

TEST_P(PostgresStoreTest, FinishRecordsTheOutcome) {
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
  EXPECT_EQ(db_.scalar("SELECT reason || ',' || sent || ',' || stored || ',' || lost || ',' || elapsed_seconds" + row),
            "stop,12,11,1,2.5");
  EXPECT_EQ(db_.scalar("SELECT naming" + row), std::string(common::to_string(GetParam())));
  EXPECT_EQ(db_.scalar("SELECT window_size" + row), "1");
}

INSTANTIATE_TEST_SUITE_P(Namings, PostgresStoreTest, ::testing::Values(Naming::kService, Naming::kMc),
                         [](const auto& info) { return std::string(common::to_string(info.param)); });

TEST(PostgresStore, UnreachableServerIsUnavailable) {
  auto config = db_config();
  config.port = 1;  // nothing listens there
  PostgresStore store(config, Naming::kService);
  EXPECT_THROW(store.connect(), StoreUnavailable);
  EXPECT_THROW(store.store(std::vector{message(1, 1)}), StoreUnavailable);
  EXPECT_THROW(store.begin_session({1, 1}, common::now_utc()), StoreUnavailable);
}

TEST(PostgresStore, WrongPasswordIsUnavailableWithReason) {
  auto config = db_config();
  config.password = "definitely-wrong";
  PostgresStore store(config, Naming::kService);
  try {
    store.connect();
    FAIL() << "connected with a wrong password";
  } catch (const StoreUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
  }
}

namespace {

/// Runs the loop until `done()` or the deadline.
template <typename Pred>
bool run_until(boost::asio::io_context& ioc, Pred done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace

TEST(StoreWriter, BatchesConcurrentStoresAndReportsDuplicates) {
  boost::asio::io_context ioc;
  StoreWriterOptions options;
  options.batch_max = 64;
  StoreWriter writer(std::make_unique<PostgresStore>(db_config(), Naming::kService), ioc.get_executor(), options);

  std::optional<std::int64_t> session;
  writer.begin_session({1, 500}, common::now_utc(), [&](std::optional<std::int64_t> id, const std::string& error) {
    ASSERT_TRUE(id) << error;
    session = id;
  });
  ASSERT_TRUE(run_until(ioc, [&] { return session.has_value(); }));
  EXPECT_TRUE(writer.connected());

  constexpr int kCount = 500;
  std::vector<StoreOutcome> outcomes;
  for (int round = 0; round < 2; ++round) {
    for (int i = 1; i <= kCount; ++i) {
      writer.store(message(*session, i), [&](StoreOutcome o) { outcomes.push_back(o); });
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
  Inspector db;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(*session)), std::to_string(kCount));
}

TEST(StoreWriter, DatabaseDownAnswersUnavailableWithoutBlocking) {
  boost::asio::io_context ioc;
  auto config = db_config();
  config.port = 1;
  StoreWriter writer(std::make_unique<PostgresStore>(config, Naming::kService), ioc.get_executor(), {});
  std::optional<StoreOutcome> outcome;
  writer.store(message(1, 1), [&](StoreOutcome o) { outcome = o; });
  ASSERT_TRUE(run_until(ioc, [&] { return outcome.has_value(); }));
  EXPECT_EQ(*outcome, StoreOutcome::kUnavailable);
  EXPECT_FALSE(writer.connected());
  std::string error;
  bool begun = false;
  writer.begin_session({1, 1}, common::now_utc(), [&](std::optional<std::int64_t> id, const std::string& e) {
    begun = true;
    EXPECT_FALSE(id.has_value());
    error = e;
  });
  ASSERT_TRUE(run_until(ioc, [&] { return begun; }));
  EXPECT_FALSE(error.empty());
}
