#include "ringtrace/ms3/http_store_client.hpp"

#include <chrono>

#include "ringtrace/common/auth.hpp"
#include "ringtrace/common/endpoint.hpp"

namespace ringtrace::ms3 {

namespace {

common::HttpClientOptions options(const StoreClientSettings& settings) {
  common::HttpClientOptions options{std::chrono::milliseconds(settings.ms3.request_timeout_ms), "ringtrace-ms3", "ms3",
                                    !settings.delivery.stores_once()};
  const common::BearerAuth auth(settings.token);
  if (!auth.open()) options.headers.emplace_back("Authorization", auth.header_value());
  return options;
}

}  // namespace

StoreClientSettings StoreClientSettings::from(const common::Config& config) {
  return {config.ms3, config.security.token, common::DeliveryPolicy::of(config.kafka.delivery)};
}

HttpStoreClient::HttpStoreClient(const StoreClientSettings& settings)
    : client_(common::parse_endpoint(settings.ms3.store_url, "http", "ms3.store_url"), options(settings), abort_) {}

std::vector<StoreResult> HttpStoreClient::store(const std::vector<StoreRequest>& records) {
  requests_.clear();
  for (const auto& record : records) requests_.push_back({record.body, "application/json", record.traceparent});
  return client_.post_all(requests_);
}

}  // namespace ringtrace::ms3
