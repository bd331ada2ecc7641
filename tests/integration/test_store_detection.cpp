// A database that goes silent (a partition: packets dropped, no FIN, no reset) is found out within
// database.io_timeout_ms, on the writer's store and on the bare connections the reports use too;
// a server that is only slow (a lock held by another connection) is never cut. On both servers.
#include <gtest/gtest.h>

#include <netinet/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <iostream>

#include "ringtrace/ms1/db/mariadb.hpp"
#include "ringtrace/ms1/db/postgres.hpp"
#include "ringtrace/ms1/db/tcp_liveness.hpp"
#include "ringtrace/ms1/ring/message_store.hpp"
#include "ringtrace/test/database.hpp"
#include "ringtrace/test/silent_link.hpp"
#include "ringtrace/test/wait.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using namespace std::chrono_literals;
using test::Backend;

namespace {

using Clock = std::chrono::steady_clock;

/// Outside the ids sessions get, so reruns only meet their own rows.
constexpr std::int64_t kSession = 4'000'000'100LL;

/// A fresh message id: microseconds since the epoch, so every run uses new keys.
std::int64_t fresh_id() {
  static std::int64_t last = 0;
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  last = std::max(last + 1, static_cast<std::int64_t>(now));
  return last;
}

std::vector<StoreRow> one_row(std::int64_t id) {
  StoreRow row;
  row.message.session_id = kSession;
  row.message.id = id;
  for (auto& stamp : row.message.stamps) stamp = common::now_utc();
  return {row};
}

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

/// The kernel's view of a TCP socket: TCP_CLOSE once it gave the connection up.
int tcp_state(int fd) {
  tcp_info info{};
  socklen_t size = sizeof info;
  return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) == 0 ? info.tcpi_state : -1;
}

/// A bare connection as connect_postgres or connect_mariadb opens it, for the writer and the reports alike.
class Connection {
 public:
  explicit Connection(const common::DatabaseConfig& config) {
    if (config.driver == "postgresql") {
      pg_ = connect_postgres(config, "ringtrace-test", "");
    } else {
      my_ = connect_mariadb(config);
    }
  }
  ~Connection() {
    if (my_ != nullptr) mysql_close(my_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] int fd() const { return pg_ ? PQsocket(pg_.get()) : static_cast<int>(mysql_get_socket(my_)); }
  /// Runs `sql`; true when the server answered.
  bool query(const char* sql) {
    if (pg_) return PgResult(PQexec(pg_.get(), sql)) != nullptr && PQstatus(pg_.get()) == CONNECTION_OK;
    if (mysql_query(my_, sql) != 0) return false;
    mysql_free_result(mysql_store_result(my_));
    return true;
  }

 private:
  PgConn pg_;
  MYSQL* my_ = nullptr;
};

class StoreDetectionTest : public ::testing::TestWithParam<std::string> {
 protected:
  /// The backend's settings with the given io timeout, through `port` on 127.0.0.1 when set.
  common::DatabaseConfig config(int io_timeout_ms, std::uint16_t port = 0) const {
    auto c = Backend{GetParam()}.config();
    c.io_timeout_ms = io_timeout_ms;
    if (port != 0) {
      c.host = "127.0.0.1";
      c.port = port;
    }
    return c;
  }
  /// The network the silent link needs, or a skip on a machine that cannot make one.
  std::unique_ptr<test::PrivateNetwork> network() {
    if (const auto why = test::PrivateNetwork::unavailable()) {
      skipped_ = *why;
      return nullptr;
    }
    return std::make_unique<test::PrivateNetwork>();
  }
  std::string skipped_;
};

}  // namespace

TEST_P(StoreDetectionTest, EveryConnectionCarriesTheLivenessSettingsForItsLife) {
  const auto c = config(7000);
  Connection conn(c);
  ASSERT_TRUE(is_tcp_socket(conn.fd()));
  const auto wanted = tcp_liveness(c.io_timeout_ms);
  for (const char* moment : {"after connecting", "after a query"}) {
    const auto kept = read_tcp_liveness(conn.fd());
    EXPECT_EQ(kept.keepalive_idle_s, wanted.keepalive_idle_s) << moment;
    EXPECT_EQ(kept.keepalive_interval_s, wanted.keepalive_interval_s) << moment;
    EXPECT_EQ(kept.keepalive_count, wanted.keepalive_count) << moment;
    EXPECT_EQ(kept.user_timeout_ms, wanted.user_timeout_ms) << moment;
    ASSERT_TRUE(conn.query("SELECT 1"));
  }
}

TEST_P(StoreDetectionTest, AWriteToASilentServerFailsWithinTheIoTimeout) {
  auto net = network();
  if (!net) GTEST_SKIP() << skipped_;
  test::TcpRelay relay(*net, Backend{GetParam()}.config().port);
  const auto c = config(common::DatabaseConfig{}.io_timeout_ms, relay.port());
  const auto io_timeout = std::chrono::milliseconds(c.io_timeout_ms);
  auto store = make_store(c, common::Naming::kService);
  net->inside([&] { store->connect(); });
  ASSERT_EQ(store->store(one_row(fresh_id())), std::vector<bool>{true}) << "the relay works";

  net->silence(relay.port());
  const auto start = Clock::now();
  auto write = std::async(std::launch::async, [&] { return store->store(one_row(fresh_id())); });
  if (write.wait_for(io_timeout + 1s) != std::future_status::ready) {
    net->heal(relay.port());  // lets the write finish, so the test can end
    write.wait();
    FAIL() << "a write to a silent server was still waiting after io_timeout + 1 s";
  }
  const auto took = since(start);
  EXPECT_THROW(write.get(), StoreUnavailable);
  EXPECT_GE(took, io_timeout - 1s) << "failed before the timeout: not by detecting silence";
  std::cout << GetParam() << ": a write to a silent server failed after " << took.count() << " ms\n";
}

TEST_P(StoreDetectionTest, AnIdleConnectionToASilentServerIsGivenUpWithinTheIoTimeout) {
  auto net = network();
  if (!net) GTEST_SKIP() << skipped_;
  test::TcpRelay relay(*net, Backend{GetParam()}.config().port);
  const auto c = config(common::DatabaseConfig{}.io_timeout_ms, relay.port());
  const auto io_timeout = std::chrono::milliseconds(c.io_timeout_ms);
  std::unique_ptr<Connection> conn;
  net->inside([&] { conn = std::make_unique<Connection>(c); });
  ASSERT_TRUE(conn->query("SELECT 1"));
  ASSERT_EQ(tcp_state(conn->fd()), TCP_ESTABLISHED);

  net->silence(relay.port());
  const auto start = Clock::now();
  // Nothing is sent: only keepalive can find out.
  const bool closed = test::eventually([&] { return tcp_state(conn->fd()) == TCP_CLOSE; }, io_timeout + 1s, 20ms);
  const auto took = since(start);
  if (!closed) {
    net->heal(relay.port());  // the query below would wait on TCP's retransmissions otherwise
    FAIL() << "an idle connection to a silent server was still open after io_timeout + 1 s";
  }
  EXPECT_GE(took, io_timeout - 1s) << "closed before the timeout: not by detecting silence";
  const auto query_start = Clock::now();
  EXPECT_FALSE(conn->query("SELECT 1"));
  EXPECT_LT(since(query_start), 1s) << "the next query fails at once";
  std::cout << GetParam() << ": an idle connection to a silent server was given up after " << took.count() << " ms\n";
}

TEST_P(StoreDetectionTest, ASlowServerIsNeverCut) {
  const auto c = config(1000);
  const auto hold = std::chrono::milliseconds(c.io_timeout_ms) * 3;
  auto store = make_store(c, common::Naming::kService);
  store->connect();
  // Another connection inserts the same key and keeps its transaction open: our insert waits on
  // the lock while the server, alive, acknowledges everything at the TCP level.
  const auto id = fresh_id();
  test::Inspector holder(Backend{GetParam()});
  holder.scalar(GetParam() == "postgresql" ? "BEGIN" : "START TRANSACTION");
  holder.scalar("INSERT INTO messages (session_id, id) VALUES (" + std::to_string(kSession) + ", " +
                std::to_string(id) + ")");
  const auto start = Clock::now();
  auto write = std::async(std::launch::async, [&] { return store->store(one_row(id)); });
  EXPECT_EQ(write.wait_for(hold), std::future_status::timeout) << "the lock did not hold the write back";
  holder.scalar("ROLLBACK");
  ASSERT_EQ(write.wait_for(10s), std::future_status::ready);
  std::vector<bool> inserted;
  EXPECT_NO_THROW(inserted = write.get()) << "a slow server was cut";
  EXPECT_EQ(inserted, std::vector<bool>{true});
  EXPECT_GE(since(start), hold);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreDetectionTest, ::testing::Values("postgresql", "mariadb"),
                         [](const auto& info) { return info.param; });
