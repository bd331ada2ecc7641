// Run under the clock guard and libfaketime (tests/hosts/clock_guard_probe.py sets the preload
// and FAKETIME): checks that the wall clock is shifted by the expected offset and that the waits
// our services make (Asio timers, condition variables, librdkafka's timed waits) keep real time.
// Prints one line per check ("<name> ok|FAIL <figure>") and exits with the number that failed.
//
//   clock_guard_probe --offset-ms N

#include <librdkafka/rdkafka.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

/// The machine's wall clock in µs, by system call: neither libfaketime nor the guard sees it.
std::int64_t kernel_realtime_us() {
  timespec ts{};
  syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

int failures = 0;

void report(const char* name, bool ok, const std::string& figure) {
  std::printf("%s %s %s\n", name, ok ? "ok" : "FAIL", figure.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

/// (i) system_clock is the kernel's wall clock plus the offset, within 1 ms.
void check_offset(double offset_ms) {
  const auto faked = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const auto real = kernel_realtime_us();
  const double seen = static_cast<double>(faked - real) / 1000.0;
  report("wall_offset", seen > offset_ms - 1.0 && seen < offset_ms + 1.0,
         "measured_ms=" + std::to_string(seen) + " expected_ms=" + std::to_string(offset_ms));
}

/// (ii) 1000 Asio timers due now, all at the same instant, fire within 50 ms.
void check_asio() {
  boost::asio::io_context io;
  constexpr int kTimers = 1000;
  std::vector<boost::asio::steady_timer> timers;
  timers.reserve(kTimers);
  std::atomic<int> fired{0};
  double all_fired_ms = -1.0;
  const auto due = Clock::now();
  const auto t0 = Clock::now();
  for (int i = 0; i < kTimers; ++i) {
    timers.emplace_back(io, due);
    timers.back().async_wait([&](const boost::system::error_code&) {
      if (fired.fetch_add(1) + 1 == kTimers) all_fired_ms = ms_since(t0);
    });
  }
  // A watchdog: timers that never fire must not hang the test.
  std::thread watchdog([&io] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    io.stop();
  });
  io.run_for(std::chrono::milliseconds(1000));
  io.stop();
  watchdog.join();
  report("asio_timers", fired.load() == kTimers && all_fired_ms >= 0.0 && all_fired_ms <= 50.0,
         "fired=" + std::to_string(fired.load()) + " all_fired_ms=" + std::to_string(all_fired_ms));
}

/// (iii) condition_variable::wait_for(20 ms) lasts 20 to 40 ms.
void check_condition_variable() {
  std::mutex m;
  std::condition_variable cv;
  std::unique_lock lock(m);
  const auto t0 = Clock::now();
  cv.wait_for(lock, std::chrono::milliseconds(20), [] { return false; });
  const double took = ms_since(t0);
  report("condition_variable", took >= 20.0 && took <= 40.0, "wait_ms=" + std::to_string(took));
}

/// (iv) a librdkafka handle (mock cluster) polled for 50 ms returns after 50 ± 15 ms.
void check_rdkafka() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err) != RD_KAFKA_CONF_OK) {
    report("rdkafka_poll", false, std::string("conf: ") + err);
    rd_kafka_conf_destroy(conf);
    return;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    report("rdkafka_poll", false, std::string("rd_kafka_new: ") + err);
    return;
  }
  rd_kafka_poll(rk, 0);
  double worst = 0.0;
  std::string took;
  bool ok = true;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    rd_kafka_poll(rk, 50);
    const double ms = ms_since(t0);
    took += (i ? "," : "") + std::to_string(ms);
    ok = ok && ms >= 35.0 && ms <= 65.0;
    worst = std::max(worst, ms);
  }
  report("rdkafka_poll", ok, "poll_ms=" + took);
  rd_kafka_destroy(rk);
}

}  // namespace

int main(int argc, char** argv) {
  double offset_ms = 0.0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == "--offset-ms") offset_ms = std::atof(argv[i + 1]);
  }
  check_offset(offset_ms);
  check_asio();
  check_condition_variable();
  check_rdkafka();
  return failures;
}
