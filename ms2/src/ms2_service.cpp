#include "ringtrace/ms2/ms2_service.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/auth.hpp"
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
      context_{WsSettings::from(config_), producer_, counters_, registry_, reject_log_, tracer_},
      close_timer_(ioc_) {
  register_metrics();
}

void Ms2Service::register_metrics() {
  auto& r = metrics_;
  r.counter_fn("ringtrace_frames_received_total", "WebSocket data frames read from MS1, good or bad",
               common::read_atomic(counters_.frames_received));
  r.counter_fn("ringtrace_frames_rejected_total", "Frames refused before producing (not a message, bad stamps); oversized frames close the connection instead",
               common::read_atomic(counters_.frames_rejected));
  r.counter_fn("ringtrace_kafka_produced_total", "Records the broker acknowledged", common::read_atomic(counters_.produced));
  r.counter_fn("ringtrace_kafka_delivery_failures_total", "Records that could not be queued or delivered",
               common::read_atomic(counters_.delivery_failures));
  counters_.delivery_latency = &r.histogram("ringtrace_kafka_delivery_latency_seconds",
                                            "From produce() to the broker's acknowledgement (acks as kafka.delivery sets them)",
                                            common::latency_buckets());
  r.gauge_fn("ringtrace_kafka_producer_queue", "Records queued in the producer or in flight to the broker",
             [this] { return static_cast<double>(producer_.queued()); });
  r.counter_fn("ringtrace_kafka_producer_restarts_total",
               "Producers replaced after a fatal librdkafka error (e.g. an idempotent producer's sequence rewound at a leader change)",
               [this] { return static_cast<double>(producer_.restarts()); });
  r.counter_fn("ringtrace_kafka_transport_errors_total",
               "Broker connections lost or gone silent: disconnects, requests unanswered for kafka.socket_timeout_ms, all brokers down",
               [this] { return static_cast<double>(producer_.transport_errors()); });
  r.counter_fn("ringtrace_ws_upgrades_refused_total", "WebSocket upgrades refused before any session existed",
               common::read_atomic(counters_.upgrades_unauthorized), {{"reason", "unauthorized"}});
  r.gauge_fn("ringtrace_ws_sessions", "Open WebSocket sessions (MS1 keeps one)",
             [this] { return static_cast<double>(registry_.size()); });
  common::tracing::register_metrics(tracer_, r);
}

Ms2Service::~Ms2Service() {
  close_producer();
  spdlog::info("ms2: frames received={} rejected={} produced={} delivery_failures={}",
               counters_.frames_received.load(), counters_.frames_rejected.load(), counters_.produced.load(),
               counters_.delivery_failures.load());
}

void Ms2Service::start() {
  if (ensure_topic(producer_.c_handle(), config_.kafka, stop_requested_.get_token(), [this] { ++topic_attempts_; }) ==
      TopicOutcome::kStopped) {
    return;
  }
  if (stop_requested_.stop_requested()) return;
  producer_.warm_up(std::chrono::milliseconds(config_.kafka.startup_timeout_ms));
  boost::system::error_code ec;
  auto address = net::ip::make_address(config_.ms2.listen_address, ec);
  if (ec) {
    throw common::ConfigError("ms2.listen_address: not an IP address: " + config_.ms2.listen_address);
  }
  ws_port_ = std::make_unique<WsPort>(ioc_, net::ip::tcp::endpoint(address, config_.ms2.port), context_);
  spdlog::info("ms2: listening on ws://{}:{}{}", config_.ms2.listen_address, port(), config_.ms2.path);
  common::warn_if_open(common::BearerAuth(config_.security.token), "the WebSocket");
  if (config_.ms2.admin_port != 0) {
    admin_ = std::make_unique<common::AdminServer>(
        ioc_, net::ip::tcp::endpoint(address, config_.ms2.admin_port), metrics_, [this] {
          // Serving means the topic exists and the producer had the partition leaders at startup.
          return common::HealthReport{!stopping_, fmt::format(R"({{"status":"{}","ws_sessions":{}}})",
                                                              stopping_ ? "stopping" : "ok", registry_.size())};
        });
    spdlog::info("ms2: admin (/metrics, /healthz) on http://{}:{}", config_.ms2.listen_address, admin_port());
  }
}

void Ms2Service::run() {
  ioc_.run();
  // Queued handlers are destroyed with ioc_; their sessions must not call back into a dying loop.
  registry_.set_on_empty({});
  spdlog::info("ms2: stopped serving");
  close_producer();
}

// The flush's delivery reports post their spans' ends into ioc_; one more turn of the loop ends them.
void Ms2Service::close_producer() {
  producer_.close();
  ioc_.restart();
  ioc_.poll();
}

void Ms2Service::stop() {
  stop_requested_.request_stop();
  net::post(ioc_, [this] { begin_shutdown(); });
}

std::uint16_t Ms2Service::port() const { return ws_port_ ? ws_port_->local_endpoint().port() : 0; }

std::uint16_t Ms2Service::admin_port() const { return admin_ ? admin_->local_endpoint().port() : 0; }

void Ms2Service::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  if (ws_port_) ws_port_->stop();
  if (admin_) admin_->stop();
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
