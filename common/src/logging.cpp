#include "ringtrace/common/logging.hpp"

#include <cstdio>
#include <filesystem>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace ringtrace::common {

std::shared_ptr<spdlog::logger> init_logging(std::string_view service, const LoggingConfig& config) {
  const auto level = spdlog::level::from_str(config.level);
  if (level == spdlog::level::off && config.level != "off") {
    throw ConfigError("logging.level: unknown level '" + config.level + "'");
  }
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  const auto file = std::filesystem::path(config.directory) / (std::string(service) + ".log");
  try {
    std::filesystem::create_directories(config.directory);
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string()));
  } catch (const std::exception& e) {
    throw ConfigError("logging.directory: cannot write '" + file.string() + "': " + e.what());
  }
  auto logger = std::make_shared<spdlog::logger>(std::string(service), sinks.begin(), sinks.end());
  logger->set_level(level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ [%n] [%l] %v", spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return logger;
}

void announce(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (auto logger = spdlog::default_logger()) {
    // The console already has the line on stdout; the log file must have it too.
    for (const auto& sink : logger->sinks()) {
      if (std::dynamic_pointer_cast<spdlog::sinks::basic_file_sink_mt>(sink)) {
        spdlog::details::log_msg msg(logger->name(), spdlog::level::info, line);
        sink->log(msg);
        sink->flush();
      }
    }
  }
}

}  // namespace ringtrace::common
