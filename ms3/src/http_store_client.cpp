#include "ringtrace/ms3/http_store_client.hpp"

#include <chrono>

#include "ringtrace/common/auth.hpp"
#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms3 {

namespace {

common::HttpClientOptions options(const StoreClientSettings& settings) {
  common::HttpClientOptions options{std::chrono::milliseconds(settings.ms3.request_timeout_ms), "ringtrace-ms3", "ms3",
                                    !settings.delivery.stores_once()};
  const common::BearerAuth auth(settings.token);
  if (!auth.open()) options.headers.emplace_back("Authorization", auth.header_value());
  options.capture_header = std::string(common::kClockHeader);
  return options;
}

}  // namespace

StoreClientSettings StoreClientSettings::from(const common::Config& config) {
  return {config.ms3, config.security.token, common::DeliveryPolicy::of(config.kafka.delivery)};
}

HttpStoreClient::HttpStoreClient(const StoreClientSettings& settings)
    : client_(common::parse_endpoint(settings.ms3.store_url, "http", "ms3.store_url"), options(settings), abort_) {}

std::vector<StoreResult> HttpStoreClient::store(const std::vector<StoreRequest>& records) {
  // The estimate as of this batch, formatted once for all of its requests.
  const auto best = filter_.best(common::now_utc());
  report_ = best ? common::format_clock_report(*best) : std::string();
  requests_.clear();
  for (const auto& record : records) requests_.push_back({record.body, "application/json", record.traceparent, report_});
  auto results = client_.post_all(requests_);
  take_clock_samples(results);
  return results;
}

void HttpStoreClient::take_clock_samples(const std::vector<StoreResult>& results) {
  bool fed = false;
  for (const auto& result : results) {
    if (result.ec || result.captured.empty()) continue;
    // MS1's stamps are its receive (t2) and answer (t3) times; MS3's are the pipeline's write
    // (t1) and this answer's arrival (t4). A malformed header is just no sample.
    if (const auto stamps = common::parse_clock_stamps(result.captured)) {
      fed = filter_.add({result.sent_at, stamps->t2, stamps->t3, result.answered_at}) || fed;
    }
  }
  if (!fed) return;
  const auto best = filter_.best(common::now_utc());
  const std::lock_guard lock(estimate_mutex_);
  estimate_ = best;
}

std::optional<common::ClockEstimate> HttpStoreClient::estimate() const {
  const std::lock_guard lock(estimate_mutex_);
  return estimate_;
}

}  // namespace ringtrace::ms3
