/// @file
/// MS2 executable: WebSocket frames in, Kafka records out.

#include <exception>
#include <iostream>

#include <spdlog/spdlog.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/logging.hpp"
#include "ringtrace/ms2/ms2_service.hpp"

int main(int argc, char** argv) {
  using namespace ringtrace;
  common::Config config;
  try {
    bool help = false;
    const auto path = common::config_path_from_args(argc, argv, help);
    if (help) {
      std::cout << "usage: ms2 [--config PATH]\n";
      return 0;
    }
    config = common::load_config(path);
    common::init_logging("ms2", config.logging);
  } catch (const common::ConfigError& e) {
    std::cerr << "ms2: configuration error: " << e.what() << "\n";
    return 2;
  }
  try {
    ms2::Ms2Service service(config);
    service.stop_on_signals();  // before start(): a signal during the broker wait is served once run() begins
    service.start();
    service.run();
  } catch (const common::ConfigError& e) {
    spdlog::critical("ms2: configuration error: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("ms2: {}", e.what());
    return 1;
  }
  return 0;
}
