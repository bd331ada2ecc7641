#pragma once
/// @file
/// Logging set-up shared by the services: diagnostics to stderr and to a per-service file.

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "ringtrace/common/config.hpp"

namespace ringtrace::common {

/// Installs the default spdlog logger named `service`, writing to stderr and to
/// `<directory>/<service>.log`; stdout stays free for the lines scripts read.
/// Throws ConfigError naming `logging.level` or `logging.directory` when they are unusable.
std::shared_ptr<spdlog::logger> init_logging(std::string_view service, const LoggingConfig& config);

/// Writes `line` to stdout (flushed, for users and scripts) and logs it at info level (for the log file).
void announce(const std::string& line);

}  // namespace ringtrace::common
