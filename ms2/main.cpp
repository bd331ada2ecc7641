/// @file
/// MS2 executable: WebSocket frames in, Kafka records out.

#include "ringtrace/common/service_main.hpp"
#include "ringtrace/ms2/ms2_service.hpp"

int main(int argc, char** argv) {
  using namespace ringtrace;
  return common::run_service("ms2", argc, argv, [](const common::Config& config) -> std::unique_ptr<common::Service> {
    return std::make_unique<ms2::Ms2Service>(config);
  });
}
