// The MS1 process's lifecycle as common::run_service drives it, with nothing to talk to: MS2 and
// the database are closed ports, so only start, run and stop are exercised.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include <spdlog/spdlog.h>

#include "ringtrace/ms1/service/ms1_service.hpp"

using namespace ringtrace;

namespace {

common::Config offline_config() {
  auto config = common::parse_config("", {});
  config.ms1.port = 0;                           // any free port
  config.ms1.ms2_url = "ws://127.0.0.1:1/ws";    // nothing listens: the link keeps retrying
  config.database.port = 1;                      // nor here: the writer keeps retrying
  config.database.connect_timeout_s = 1;
  config.tracing.enabled = false;
  return config;
}

TEST(Ms1Service, StopBeforeRunMakesRunReturn) {
  spdlog::set_level(spdlog::level::off);
  ms1::Ms1Service service(offline_config());
  service.stop();  // as a signal during start() would
  service.start();
  auto done = std::async(std::launch::async, [&] { service.run(); });
  EXPECT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(Ms1Service, StopFromAnotherThreadIsIdempotent) {
  spdlog::set_level(spdlog::level::off);
  ms1::Ms1Service service(offline_config());
  service.start();
  auto done = std::async(std::launch::async, [&] { service.run(); });
  std::thread stopper([&] {
    service.stop();
    service.stop();
  });
  stopper.join();
  EXPECT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  service.stop();  // after run() too
}

TEST(Ms1Service, ATakenPortFailsStart) {
  spdlog::set_level(spdlog::level::off);
  auto config = offline_config();
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor taken(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  config.ms1.port = taken.local_endpoint().port();
  ms1::Ms1Service second(config);
  EXPECT_ANY_THROW(second.start());
}

}  // namespace
