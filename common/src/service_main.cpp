#include "ringtrace/common/service_main.hpp"

#include <cstdio>
#include <exception>
#include <string>

#include "ringtrace/common/logging.hpp"

namespace ringtrace::common {

int run_service(std::string_view service, int argc, char** argv, const std::function<int(const Config&)>& body) {
  const std::string name(service);
  Config config;
  try {
    bool help = false;
    const auto path = config_path_from_args(argc, argv, help);
    if (help) {
      std::printf("usage: %s [--config PATH]\n  default config/ringtrace.yaml; RINGTRACE__<SECTION>__<KEY> overrides a key\n",
                  name.c_str());
      return 0;
    }
    config = load_config(path);
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

}  // namespace ringtrace::common
