#include "ringtrace/ms3/ms3_service.hpp"

#include <algorithm>
#include <limits>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ringtrace/ms3/kafka_record.hpp"

namespace ringtrace::ms3 {

Ms3Service::Ms3Service(const common::Config& config)
    : config_(config),
      tracer_(config.tracing, "ms3"),
      store_(StoreClientSettings::from(config)),
      forwarder_(ForwarderSettings::from(config), counters_, store_, &tracer_) {
  register_metrics();
  spdlog::info("ms3: forwarding to {}", config.ms3.store_url);
}

void Ms3Service::register_metrics() {
  auto& r = metrics_;
  r.counter_fn("ringtrace_records_consumed_total", "Records taken from Kafka", common::read_atomic(counters_.consumed));
  const std::string help = "Records done with, by outcome; each is committed";
  r.counter_fn("ringtrace_records_total", help, common::read_atomic(counters_.forwarded), {{"outcome", "stored"}});
  r.counter_fn("ringtrace_records_total", help, common::read_atomic(counters_.rejected), {{"outcome", "rejected"}});
  r.counter_fn("ringtrace_records_total", help, common::read_atomic(counters_.undecodable), {{"outcome", "undecodable"}});
  r.counter_fn("ringtrace_records_total", help, common::read_atomic(counters_.dropped), {{"outcome", "dropped"}});
  r.counter_fn("ringtrace_store_retries_total", "POSTs to MS1 repeated after a transport error, 5xx, 401, 408 or 429",
               common::read_atomic(counters_.retries));
  counters_.post_latency = &r.histogram("ringtrace_store_post_latency_seconds",
                                        "POST /store to MS1, request to answer (answered attempts only)",
                                        common::latency_buckets());
  r.gauge_fn("ringtrace_kafka_commit_lag", "Records on the broker after our last committed offset, all partitions",
             [this] { return consumer_ ? static_cast<double>(consumer_->commit_lag()) : 0.0; });
  r.counter_fn("ringtrace_kafka_consumer_restarts_total",
               "Consumers replaced after a fatal librdkafka error (e.g. fenced after a long broker outage)",
               [this] { return consumer_ ? static_cast<double>(consumer_->recreated()) : 0.0; });
  r.counter_fn("ringtrace_kafka_transport_errors_total",
               "Broker connections lost or gone silent: disconnects, requests unanswered for kafka.socket_timeout_ms, all brokers down",
               [this] { return consumer_ ? static_cast<double>(consumer_->transport_errors()) : 0.0; });
  r.counter_fn("ringtrace_kafka_recommits_total",
               "Offsets committed again because the broker had not acknowledged them (failed, or overtaken)",
               [this] { return consumer_ ? static_cast<double>(consumer_->recommits()) : 0.0; });
  r.gauge_fn("ringtrace_kafka_assigned_partitions", "Partitions assigned to this consumer (-1 before joining the group)",
             [this] { return consumer_ ? static_cast<double>(consumer_->assigned_partitions()) : -1.0; });
  // MS3 is the clock client of the /store exchange: MS1's clock as seen from here.
  const auto clock = [this](std::int64_t common::ClockEstimate::*field) {
    return [this, field] {
      const auto estimate = store_.estimate();
      return estimate ? static_cast<double>((*estimate).*field) / 1e6 : std::numeric_limits<double>::quiet_NaN();
    };
  };
  r.gauge_fn("ringtrace_clock_offset_seconds",
             "MS1's clock minus MS3's, from the stamps on /store answers (NaN before the first)",
             clock(&common::ClockEstimate::offset_us), {{"clock", "ms1"}});
  r.gauge_fn("ringtrace_clock_uncertainty_seconds", "The offset estimate is within this of the truth",
             clock(&common::ClockEstimate::uncertainty_us), {{"clock", "ms1"}});
  common::tracing::register_metrics(tracer_, r);
}

void Ms3Service::start() {
  if (stopping_.load() || consumer_) return;
  consumer_ = std::make_unique<KafkaConsumer>(config_.kafka, config_.ms3.group_instance_id);
  if (config_.ms3.admin_port == 0) return;
  const boost::asio::ip::tcp::endpoint bind{boost::asio::ip::make_address(config_.ms3.listen_address),
                                            config_.ms3.admin_port};
  admin_ = std::make_unique<common::AdminServer>(admin_ioc_, bind, metrics_, [this] {
    // Ready once the group gave us partitions: before that nothing would be consumed.
    const int partitions = consumer_->assigned_partitions();
    const bool stopping = stopping_.load();
    const bool ok = partitions > 0 && !stopping;
    return common::HealthReport{
        ok, fmt::format(R"({{"status":"{}","assigned_partitions":{}}})",
                        stopping ? "stopping" : partitions > 0 ? "ok" : "waiting for partitions",
                        std::max(partitions, 0))};
  });
  spdlog::info("ms3: admin (/metrics, /healthz) on http://{}:{}", config_.ms3.listen_address, admin_port());
  admin_thread_ = std::thread([this] { admin_ioc_.run(); });
}

void Ms3Service::stop_admin() {
  admin_ioc_.stop();
  if (admin_thread_.joinable()) admin_thread_.join();
}

std::uint16_t Ms3Service::admin_port() const { return admin_ ? admin_->local_endpoint().port() : 0; }

Ms3Service::~Ms3Service() {
  stop_admin();  // its health check reads the consumer and the forwarder, which go next
  spdlog::info("ms3: consumed={} forwarded={} retries={} rejected={} undecodable={} dropped={}",
               counters_.consumed.load(), counters_.forwarded.load(), counters_.retries.load(),
               counters_.rejected.load(), counters_.undecodable.load(), counters_.dropped.load());
}

void Ms3Service::run() {
  const bool commit_first = common::DeliveryPolicy::of(config_.kafka.delivery).commits_first();
  const auto max_batch = static_cast<std::size_t>(config_.ms3.max_in_flight);
  std::vector<std::unique_ptr<RdKafka::Message>> batch;
  std::vector<const RdKafka::Message*> done;
  std::vector<RecordView> views;
  if (!consumer_) return;
  auto& consumer = *consumer_;
  while (!stopping_.load()) {
    if (consumer.failed()) {
      consumer.recreate();
      continue;
    }
    // Whatever librdkafka has fetched already, up to max_in_flight: one pipeline to MS1 and one
    // commit for all of it. With one message in the ring this is a batch of one, sent at once.
    batch.clear();
    for (auto record = consumer.consume(kConsumeTimeout); record; record = consumer.consume({})) {
      batch.push_back(std::move(record));
      if (batch.size() >= max_batch || consumer.failed()) break;
    }
    if (batch.empty()) {
      if (commit_first) consumer.retry_given_up();
      consumer.recommit();
      continue;
    }
    counters_.consumed.fetch_add(batch.size(), std::memory_order_relaxed);
    views.clear();
    done.clear();
    for (const auto& record : batch) {
      views.push_back(record_view(*record, tracer_.enabled()));
      done.push_back(record.get());
    }
    if (commit_first) {
      // At most once: the offsets move before the POSTs, so a crash after this point loses the
      // records instead of sending them again; records whose commit failed are not sent at all.
      if (!consumer.commit_sync(done)) {
        counters_.dropped.fetch_add(batch.size(), std::memory_order_relaxed);
        consumer.give_up(done);
        continue;
      }
      forwarder_.forward(views);
      continue;
    }
    const auto outcomes = forwarder_.forward(views);
    done.resize(committable(outcomes));
    consumer.commit(done);
    if (done.size() != outcomes.size()) break;
  }
  consumer.close();
  spdlog::info("ms3: stopped consuming");
}

void Ms3Service::stop() {
  stopping_.store(true);
  forwarder_.stop();  // ends a retry or a backoff wait in progress
}

}  // namespace ringtrace::ms3
