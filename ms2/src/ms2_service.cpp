#include "ringtrace/ms2/ms2_service.hpp"

#include <csignal>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/ms2/topic_admin.hpp"

namespace ringtrace::ms2 {

namespace net = boost::asio;

namespace {

/// Rejection lines let through per second, whatever clients send.
constexpr int kRejectLinesPerSecond = 10;

}  // namespace

Ms2Service::Ms2Service(const common::Config& config)
    : config_(config),
      tracer_(config_.tracing, "ms2"),
      reject_log_(kRejectLinesPerSecond, std::chrono::seconds(1)),
      producer_(config_.kafka, counters_),
      context_{config_, producer_, counters_, registry_, reject_log_, tracer_},
      signals_(ioc_),
      close_timer_(ioc_) {}

Ms2Service::~Ms2Service() {
  spdlog::info("ms2: frames received={} rejected={} produced={} delivery_failures={}",
               counters_.frames_received.load(), counters_.frames_rejected.load(), counters_.produced.load(),
               counters_.delivery_failures.load());
}

void Ms2Service::start() {
  ensure_topic(producer_.c_handle(), config_.kafka);
  producer_.warm_up(std::chrono::milliseconds(config_.kafka.startup_timeout_ms));
  boost::system::error_code ec;
  auto address = net::ip::make_address(config_.ms2.listen_address, ec);
  if (ec) {
    throw common::ConfigError("ms2.listen_address: not an IP address: " + config_.ms2.listen_address);
  }
  listener_ = std::make_shared<Listener>(ioc_, net::ip::tcp::endpoint(address, config_.ms2.port), context_);
  listener_->run();
  spdlog::info("ms2: listening on ws://{}:{}{}", config_.ms2.listen_address, port(), config_.ms2.path);
}

void Ms2Service::stop_on_signals() {
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("ms2: signal {} received, shutting down", signal);
    begin_shutdown();
  });
}

void Ms2Service::run() {
  ioc_.run();
  // Queued handlers are destroyed with ioc_; their sessions must not call back into a dying loop.
  registry_.set_on_empty({});
  spdlog::info("ms2: stopped serving");
}

void Ms2Service::stop() {
  net::post(ioc_, [this] { begin_shutdown(); });
}

std::uint16_t Ms2Service::port() const { return listener_ ? listener_->local_endpoint().port() : 0; }

void Ms2Service::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  if (listener_) listener_->stop();
  registry_.set_on_empty([this] { ioc_.stop(); });
  if (registry_.close_all() == 0) {
    ioc_.stop();
    return;
  }
  close_timer_.expires_after(kCloseGrace);
  close_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    spdlog::warn("ms2: {} session(s) did not finish closing within {} s", registry_.size(), kCloseGrace.count());
    ioc_.stop();
  });
}

}  // namespace ringtrace::ms2
