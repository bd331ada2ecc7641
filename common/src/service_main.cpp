#include "ringtrace/common/service_main.hpp"

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/logging.hpp"

namespace ringtrace::common {

int run_service(std::string_view service, int argc, char** argv, const std::function<int(const Config&)>& body) {
  const std::string name(service);
  Config config;
  try {
    const auto line = parse_command_line(argc, argv);
    if (line.help) {
      std::printf(
          "usage: %s [--config PATH] [--check-config]\n"
          "  --config PATH    the YAML configuration (default config/ringtrace.yaml);\n"
          "                   RINGTRACE__<SECTION>__<KEY> overrides a key\n"
          "  --check-config   validate the file and the environment overrides, then exit (0 = valid)\n",
          name.c_str());
      return 0;
    }
    config = load_config(line.config_path);
    if (line.check_config) {
      std::printf("%s: configuration %s is valid\n", name.c_str(), line.config_path.c_str());
      return 0;
    }
    init_logging(service, config.logging);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: configuration error: %s\n", name.c_str(), e.what());
    return kExitConfigError;
  }
  try {
    return body(config);
  } catch (const ConfigError& e) {
    spdlog::critical("{}: configuration error: {}", name, e.what());
    return kExitConfigError;
  } catch (const std::exception& e) {
    spdlog::critical("{}: {}", name, e.what());
    return kExitFailure;
  }
}

int run_service(std::string_view service, int argc, char** argv, const ServiceFactory& make) {
  const std::string name(service);
  return run_service(service, argc, argv, [&](const Config& config) {
    auto instance = make(config);
    // The signal thread lives only as long as the service: it is joined before the service goes.
    boost::asio::io_context signal_ioc(1);
    auto work = boost::asio::make_work_guard(signal_ioc);
    boost::asio::signal_set signals(signal_ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("{}: signal {} received, shutting down", name, signal);
      instance->stop();
    });
    std::thread signal_thread([&] { signal_ioc.run(); });
    struct Joiner {
      boost::asio::io_context& ioc;
      std::thread& thread;
      ~Joiner() {
        ioc.stop();
        thread.join();
      }
    } joiner{signal_ioc, signal_thread};
    instance->start();
    instance->run();
    return 0;
  });
}

}  // namespace ringtrace::common
