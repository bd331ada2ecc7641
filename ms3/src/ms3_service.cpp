#include "ringtrace/ms3/ms3_service.hpp"

#include <spdlog/spdlog.h>

namespace ringtrace::ms3 {

Ms3Service::Ms3Service(const common::Config& config)
    : tracer_(config.tracing, "ms3"), forwarder_(config, counters_, &tracer_), consumer_(config.kafka) {
  spdlog::info("ms3: forwarding to {}", config.ms3.store_url);
}

Ms3Service::~Ms3Service() {
  spdlog::info("ms3: consumed={} forwarded={} retries={} rejected={} undecodable={}", counters_.consumed.load(),
               counters_.forwarded.load(), counters_.retries.load(), counters_.rejected.load(),
               counters_.undecodable.load());
}

void Ms3Service::run() {
  while (!forwarder_.stopping()) {
    auto record = consumer_.consume(kConsumeTimeout);
    if (!record) continue;
    counters_.consumed.fetch_add(1, std::memory_order_relaxed);
    const std::string_view payload(static_cast<const char*>(record->payload()), record->len());
    std::string traceparent;
    if (tracer_.enabled() && record->headers() != nullptr) {
      const auto header = record->headers()->get_last("traceparent");
      if (header.err() == RdKafka::ERR_NO_ERROR && header.value() != nullptr) {
        traceparent.assign(static_cast<const char*>(header.value()), header.value_size());
      }
    }
    const auto outcome = forwarder_.forward(payload, traceparent);
    if (outcome == ForwardOutcome::kStopped) break;
    consumer_.commit(*record);
  }
  consumer_.close();
  spdlog::info("ms3: stopped consuming");
}

void Ms3Service::stop() { forwarder_.stop(); }

}  // namespace ringtrace::ms3
