#include "ringtrace/ms1/service/ms1_service.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/logging.hpp"

namespace ringtrace::ms1 {

using std::chrono::milliseconds;

namespace {

std::unique_ptr<StoreWriter> make_writer(const common::Config& config, boost::asio::io_context& ioc) {
  StoreWriterOptions options;
  options.batch_max = static_cast<std::size_t>(config.database.batch_max);
  return std::make_unique<StoreWriter>(make_store(config.database, config.message.naming), ioc.get_executor(), options);
}

}  // namespace

Ms1Service::Ms1Service(common::Config config)
    : config_(std::move(config)),
      auth_(config_.security.token),
      tracer_(config_.tracing, "ms1"),
      writer_(make_writer(config_, ioc_)),
      reports_(std::make_unique<ReportService>(make_report_store(config_.database, config_.message.naming),
                                               ioc_.get_executor())),
      m_(register_metrics(metrics_, tracer_)),
      ws_(std::make_shared<WsClient>(
          ioc_, common::parse_endpoint(config_.ms1.ms2_url, "ws", "ms1.ms2_url"),
          common::Backoff(milliseconds(config_.ms1.reconnect_initial_ms), milliseconds(config_.ms1.reconnect_max_ms)),
          auth_.header_value(),
          WsClientOptions{milliseconds(config_.ms1.ws_idle_timeout_ms), milliseconds(config_.ms1.clock_probe_interval_ms)})),
      latency_line_(*reports_),
      // The finish line is out and the rows are durable: the latency line follows.
      runner_(ioc_, RunnerSettings::from(config_), tracer_, *writer_, *ws_, m_,
              [this](const SessionSummary& summary, std::function<void()> done) {
                latency_line_.print(summary.session_id, std::move(done));
              }),
      session_api_(runner_, *ws_, *writer_, config_.ms1.ms2_url),
      store_api_(*writer_, runner_, m_, config_.message.naming),
      health_api_(*ws_, *writer_, runner_, metrics_),
      sessions_api_(*reports_),
      http_api_(tracer_, session_api_, store_api_, health_api_, {auth_, m_.unauthorized, &sessions_api_}) {
  register_gauges(metrics_, {[this] { return static_cast<double>(runner_.controller().status(SteadyClock::now()).in_flight); },
                             [this] { return ws_->connected() ? 1.0 : 0.0; },
                             [this] { return static_cast<double>(ws_->connects()); },
                             [this] { return writer_->connected() ? 1.0 : 0.0; },
                             [this] { return static_cast<double>(writer_->connects()); },
                             [this] { return static_cast<double>(writer_->queue_depth()); },
                             &runner_.clock_book()});
}

Ms1Service::~Ms1Service() { stop_workers(); }

void Ms1Service::stop_workers() {
  reports_->stop();  // runs what is queued (reads only); completions are dropped with the loop
  writer_->stop();   // runs what is queued; its completions are dropped with the loop
}

void Ms1Service::start() {
  listener_ = std::make_shared<common::HttpListener>(
      ioc_, boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address(config_.ms1.listen_address), config_.ms1.port},
      http_api_, common::HttpLimits{config_.ms1.max_body_bytes, milliseconds(config_.ms1.request_timeout_ms)});
  listener_->run();
  ws_->start(runner_);
  spdlog::info("ms1: listening on http://{}:{} (naming={}, database={})", config_.ms1.listen_address, port(),
               common::to_string(config_.message.naming), config_.database.driver);
  common::warn_if_open(auth_, "POST /store");
}

void Ms1Service::run() {
  ioc_.run();
  stop_workers();
  spdlog::info("ms1: stopped (stored={} duplicates={} rejected={})", m_.stored->value(), m_.duplicate->value(),
               m_.rejected->value());
}

void Ms1Service::stop() {
  if (stop_requested_.exchange(true)) return;
  boost::asio::post(ioc_, [this] { begin_shutdown(); });
}

void Ms1Service::begin_shutdown() {
  if (listener_) listener_->stop();
  // A running session ends with reason shutdown and is recorded; then the loop stops.
  runner_.shutdown([this] { complete_shutdown(); });
}

void Ms1Service::complete_shutdown() {
  runner_.cancel();
  if (listener_) listener_->stop();
  ws_->stop();
  stop_workers();
  ioc_.stop();
}

}  // namespace ringtrace::ms1
