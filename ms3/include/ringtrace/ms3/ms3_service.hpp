#pragma once
/// @file
/// MS3 as one object: Kafka consumer → Forwarder → commit.

#include <atomic>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "ringtrace/common/admin_server.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/ms3/counters.hpp"
#include "ringtrace/ms3/forwarder.hpp"
#include "ringtrace/ms3/kafka_consumer.hpp"

namespace ringtrace::ms3 {

/// Consumes one record at a time on the thread that calls run(). At least once, a record's offset
/// is committed only after the Forwarder is done with it, so a crash or stop replays rather than
/// loses; at most once, it is committed before, so a crash loses rather than replays.
class Ms3Service {
 public:
  /// How long one consume() call blocks; bounds how fast run() notices stop().
  static constexpr std::chrono::milliseconds kConsumeTimeout{100};

  /// Validates ms3.store_url (ConfigError) and subscribes (std::runtime_error if librdkafka refuses).
  explicit Ms3Service(const common::Config& config);
  /// Logs the counters.
  ~Ms3Service();

  Ms3Service(const Ms3Service&) = delete;
  Ms3Service& operator=(const Ms3Service&) = delete;

  /// Consumes and forwards until stop(); then commits synchronously and leaves the group.
  void run();
  /// Ends run() soon, also in the middle of a retry; thread-safe.
  void stop();

  /// Totals so far.
  const Counters& counters() const { return counters_; }

  /// Opens the admin port (`/metrics`, `/healthz`) on `ioc` unless ms3.admin_port is 0; `ioc`
  /// must outlive this service. Throws boost::system::system_error if it cannot bind.
  void serve_admin(boost::asio::io_context& ioc);
  /// The admin port actually bound; 0 when off or before serve_admin().
  std::uint16_t admin_port() const;

 private:
  void register_metrics();

  common::Config config_;
  common::MetricsRegistry metrics_;  ///< first: outlives everything its gauges read
  Counters counters_;
  common::tracing::Tracer tracer_;
  Forwarder forwarder_;
  KafkaConsumer consumer_;
  std::unique_ptr<common::AdminServer> admin_;
};

}  // namespace ringtrace::ms3
