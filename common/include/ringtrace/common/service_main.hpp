#pragma once
/// @file
/// The startup and exit-code policy every ringtrace executable shares.

#include <functional>
#include <string_view>

#include "ringtrace/common/config.hpp"

namespace ringtrace::common {

/// Exit status for a bad command line or configuration (scripts tell it apart from a crash).
inline constexpr int kExitConfigError = 2;
/// Exit status for any other startup or runtime failure.
inline constexpr int kExitFailure = 1;

/// Parses `--config PATH` (or answers `--help`), loads the configuration with its environment
/// overrides, starts logging for `service`, then runs `body`. A ConfigError anywhere exits with
/// kExitConfigError and the key named on stderr; another exception exits with kExitFailure.
int run_service(std::string_view service, int argc, char** argv, const std::function<int(const Config&)>& body);

}  // namespace ringtrace::common
