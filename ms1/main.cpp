/// @file
/// MS1 entry point: starts sessions, sends messages to MS2, stores what comes back.

#include "ringtrace/common/service_main.hpp"
#include "ringtrace/ms1/service/ms1_service.hpp"

int main(int argc, char** argv) {
  using namespace ringtrace;
  return common::run_service("ms1", argc, argv, [](const common::Config& config) {
    return std::make_unique<ms1::Ms1Service>(config);
  });
}
