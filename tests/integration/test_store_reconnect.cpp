// The writer survives a database restart: the connection drops under it, and the next write
// reconnects and lands. Restarts the real server through scripts/infra.sh, so this binary's
// tests run serially (RUN_SERIAL) and nothing else uses the server meanwhile.
#include <gtest/gtest.h>

#include <cstdlib>

#include <boost/asio/io_context.hpp>

#include "ringtrace/ms1/ring/store_writer.hpp"
#include "ringtrace/test/database.hpp"
#include "ringtrace/test/wait.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
using test::Backend;

namespace {

bool infra(const std::string& action, const std::string& component) {
  const std::string command =
      "bash " RINGTRACE_SOURCE_DIR "/scripts/infra.sh " + action + " " + component + " >/dev/null";
  return std::system(command.c_str()) == 0;
}

/// Stores one message and waits for its outcome.
StoreOutcome store_one(boost::asio::io_context& ioc, StoreWriter& writer, std::int64_t session, std::int64_t id) {
  common::Message m;
  m.session_id = session;
  m.id = id;
  for (auto& stamp : m.stamps) stamp = common::now_utc();
  std::optional<StoreOutcome> outcome;
  writer.store(m, {}, IdCheck::kDone, [&](StoreOutcome o) { outcome = o; });
  test::eventually(
      [&] {
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(10));
        return outcome.has_value();
      },
      std::chrono::seconds(30), std::chrono::milliseconds(0));
  return outcome.value_or(StoreOutcome::kOverloaded);
}

class StoreReconnectTest : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(StoreReconnectTest, WriterReconnectsAfterTheServerRestarts) {
  const Backend backend{GetParam()};
  boost::asio::io_context ioc;
  StoreWriter writer(make_store(backend.config(), common::Naming::kService), ioc.get_executor(), {});
  constexpr std::int64_t kSession = 4'000'000'000LL;  // outside the ids sessions get, so reruns only meet duplicates
  const auto base = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
  const auto before = store_one(ioc, writer, kSession, base);
  ASSERT_TRUE(before == StoreOutcome::kStored || before == StoreOutcome::kDuplicate);

  ASSERT_TRUE(infra("down", backend.component())) << "could not stop " << backend.component();
  ASSERT_TRUE(infra("up", backend.component())) << "could not start " << backend.component();

  // The old connection is dead; the writer notices on this write, reconnects once and retries.
  EXPECT_EQ(store_one(ioc, writer, kSession, base + 1), StoreOutcome::kStored);
  EXPECT_TRUE(writer.connected());
  test::Inspector db(backend);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM messages WHERE session_id=" + std::to_string(kSession) +
                      " AND id IN (" + std::to_string(base) + "," + std::to_string(base + 1) + ")"),
            "2");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreReconnectTest, ::testing::Values("postgresql", "mariadb"),
                         [](const auto& info) { return info.param; });
