/// @file
/// Ms2Service's lifecycle without a broker: a stop during the broker wait ends start() promptly.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ringtrace/ms2/ms2_service.hpp"
#include "ringtrace/test/wait.hpp"

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
  std::atomic<bool> returned{false};
  std::chrono::steady_clock::time_point stopped_at;
  std::thread stopper([&] {
    // Stop only once start() sent its first topic request and waits for the answer: a stop that
    // came earlier would be seen before the wait and prove nothing about it.
    const bool waiting = test::eventually([&] { return service.topic_attempts() > 0 || returned.load(); }, 30s);
    stopped_at = std::chrono::steady_clock::now();
    service.stop();  // the signal thread calls stop() the same way
    EXPECT_TRUE(waiting) << "start() never reached the broker wait";
  });
  service.start();
  service.run();
  returned = true;
  const auto took = std::chrono::steady_clock::now();
  stopper.join();
  EXPECT_GE(service.topic_attempts(), 1U) << "start() returned before it asked the broker";
  // The wait looks at the stop every 100 ms; without it the wait would end only with the request's
  // own 5 s limit (or the 60 s deadline). 2.5 s keeps 25 times the stop check's period on a loaded
  // machine under ASan, and half of the 5 s away from a wait that ignored the stop.
  EXPECT_LT(took - stopped_at, 2500ms) << "start() must not wait out the request or kafka.startup_timeout_ms";
  EXPECT_EQ(service.port(), 0) << "nothing is bound after a stop during start()";
}

}  // namespace
}  // namespace ringtrace::ms2
