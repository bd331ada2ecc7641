/// @file
/// MS1 entry point: starts sessions, sends messages to MS2, stores what comes back.

#include <cstdio>
#include <exception>

#include <spdlog/spdlog.h>

#include "ms1_service.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/logging.hpp"

int main(int argc, char** argv) {
  using namespace ringtrace;
  common::Config config;
  try {
    bool help = false;
    const auto path = common::config_path_from_args(argc, argv, help);
    if (help) {
      std::puts("usage: ms1 [--config PATH]   (default config/ringtrace.yaml; RINGTRACE__<SECTION>__<KEY> overrides)");
      return 0;
    }
    config = common::load_config(path);
    common::init_logging("ms1", config.logging);
  } catch (const common::ConfigError& e) {
    std::fprintf(stderr, "ms1: configuration error: %s\n", e.what());
    return 2;
  }
  try {
    ms1::Ms1Service service(config);
    return service.run();
  } catch (const common::ConfigError& e) {
    spdlog::critical("configuration error: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("ms1 failed: {}", e.what());
    return 1;
  }
}
