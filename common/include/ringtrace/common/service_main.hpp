#pragma once
/// @file
/// The one lifecycle every ringtrace executable shares: configuration, signals, start, run, stop.

#include <functional>
#include <memory>
#include <string_view>

#include "ringtrace/common/config.hpp"

namespace ringtrace::common {

/// Exit status for a bad command line or configuration (scripts tell it apart from a crash).
inline constexpr int kExitConfigError = 2;
/// Exit status for any other startup or runtime failure.
inline constexpr int kExitFailure = 1;

/// What run_service drives, so that every process starts, serves and stops the same way.
class Service {
 public:
  virtual ~Service() = default;
  /// Binds ports and connects to what the service needs; throws to fail startup. A signal
  /// during start() has already called stop(), and run() must then return at once.
  virtual void start() = 0;
  /// Serves on the calling thread until stop() (or a fatal error, thrown).
  virtual void run() = 0;
  /// Makes run() finish its shutdown and return; thread-safe, idempotent, callable before run().
  virtual void stop() = 0;
};

/// Builds the service from the loaded configuration (constructor errors are startup errors).
using ServiceFactory = std::function<std::unique_ptr<Service>(const Config&)>;

/// Parses `--config PATH` (or answers `--help`), loads the configuration with its environment
/// overrides, starts logging for `service`, then runs `body`. A ConfigError anywhere exits with
/// kExitConfigError and the key named on stderr; another exception exits with kExitFailure.
int run_service(std::string_view service, int argc, char** argv, const std::function<int(const Config&)>& body);

/// run_service for a Service: SIGINT and SIGTERM call stop() from a thread of their own (so a
/// service blocked in start() or in a retry still hears them), then start() and run().
int run_service(std::string_view service, int argc, char** argv, const ServiceFactory& make);

}  // namespace ringtrace::common
