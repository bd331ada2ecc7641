/// @file
/// MS3 executable: Kafka records in, HTTP POSTs to MS1 out.

#include <csignal>
#include <exception>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/service_main.hpp"
#include "ringtrace/ms3/ms3_service.hpp"

int main(int argc, char** argv) {
  using namespace ringtrace;
  return common::run_service("ms3", argc, argv, [](const common::Config& config) {
    boost::asio::io_context signals_ioc(1);  // declared first: the admin port on it goes with the service
    ms3::Ms3Service service(config);
    // Signals and the admin port are served on this thread; the consume loop runs on its own, so a POST being
    // retried never delays the reaction to SIGTERM.
    service.serve_admin(signals_ioc);
    boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("ms3: signal {} received, shutting down", signal);
      service.stop();
    });
    std::exception_ptr failure;
    std::thread worker([&] {
      try {
        service.run();
      } catch (...) {
        failure = std::current_exception();
      }
      // A failed loop must end the process too; a stopped one has nothing left to wait for.
      boost::asio::post(signals_ioc, [&] { signals_ioc.stop(); });
    });
    signals_ioc.run();
    worker.join();
    if (failure) std::rethrow_exception(failure);
    return 0;
  });
}
