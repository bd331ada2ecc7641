/// @file
/// MS3 executable: Kafka records in, HTTP POSTs to MS1 out.

#include <memory>

#include "ringtrace/common/service_main.hpp"
#include "ringtrace/ms3/ms3_service.hpp"

int main(int argc, char** argv) {
  using namespace ringtrace;
  return common::run_service("ms3", argc, argv, [](const common::Config& config) -> std::unique_ptr<common::Service> {
    return std::make_unique<ms3::Ms3Service>(config);
  });
}
