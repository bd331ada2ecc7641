/// @file
/// MS1 entry point: starts sessions, sends messages to MS2, stores what comes back.

#include "ms1_service.hpp"
#include "ringtrace/common/service_main.hpp"

int main(int argc, char** argv) {
  using namespace ringtrace;
  return common::run_service("ms1", argc, argv, [](const common::Config& config) {
    ms1::Ms1Service service(config);
    return service.run();
  });
}
