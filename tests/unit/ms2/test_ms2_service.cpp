/// @file
/// Ms2Service's lifecycle without a broker: a stop during the broker wait ends start() promptly.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ringtrace/ms2/ms2_service.hpp"

namespace ringtrace::ms2 {
namespace {

using namespace std::chrono_literals;

TEST(Ms2Service, StopDuringTheBrokerWaitEndsStartAndRunPromptly) {
  common::Config config;
  config.kafka.brokers = "127.0.0.1:1";  // nothing listens there: ensure_topic retries
  config.kafka.startup_timeout_ms = 60000;
  config.tracing.enabled = false;
  config.ms2.port = 0;
  config.ms2.admin_port = 0;
  Ms2Service service(config);
  const auto began = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);  // into the broker wait; the signal thread calls stop() the same way
    service.stop();
  });
  service.start();
  service.run();
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s) << "start() must not wait out kafka.startup_timeout_ms";
  EXPECT_EQ(service.port(), 0) << "nothing is bound after a stop during start()";
}

}  // namespace
}  // namespace ringtrace::ms2
