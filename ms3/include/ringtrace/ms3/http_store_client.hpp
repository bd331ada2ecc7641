#pragma once
/// @file
/// MS1's POST /store over the common HTTP client: one kept-alive connection, records pipelined on it.

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ringtrace/common/clock_offset.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/http_client.hpp"
#include "ringtrace/ms3/store_client.hpp"

namespace ringtrace::ms3 {

/// What the store client reads of the configuration.
struct StoreClientSettings {
  common::Ms3Config ms3;           ///< store_url, request_timeout_ms
  std::string token;               ///< security.token; empty: no Authorization header
  /// One POST, or a resend when a kept-alive connection closed under it.
  common::DeliveryPolicy delivery = common::DeliveryPolicy::of(common::Delivery::kAtLeastOnce);
  /// Picks the settings out of the whole configuration, for the assembly.
  static StoreClientSettings from(const common::Config& config);
};

/// The StoreClient MS3 runs with: each POST bounded by `ms3.request_timeout_ms`; a request whose
/// kept-alive connection closed under it is sent again at least once, never at most once
/// (MS1 may have stored it, and the record is committed already). Every POST carries
/// `Authorization: Bearer` with `security.token` when one is set. Every answer's
/// `Ringtrace-Clock` stamps make a clock exchange with MS1 (this client is its NTP client); the
/// best recent estimate goes back to MS1 on every POST as `Ringtrace-Clock-Offset`.
class HttpStoreClient final : public StoreClient {
 public:
  /// Parses `ms3.store_url` (throws ConfigError naming it).
  explicit HttpStoreClient(const StoreClientSettings& settings);

  /// POSTs the records as application/json, pipelined, answers in order.
  std::vector<StoreResult> store(const std::vector<StoreRequest>& records) override;
  /// Cancels the POST in flight within a few milliseconds; thread-safe.
  void cancel() override { abort_.store(true); }

  /// Where it posts, as a URL.
  [[nodiscard]] std::string url() const { return client_.url(); }
  /// MS1's clock minus MS3's, as last estimated; nullopt before the first stamped answer.
  /// Thread-safe (the metrics read it while store() runs).
  [[nodiscard]] std::optional<common::ClockEstimate> estimate() const;

 private:
  /// Feeds the filter with the stamped answers of a batch and refreshes estimate().
  void take_clock_samples(const std::vector<StoreResult>& results);

  std::atomic<bool> abort_{false};  ///< before client_, which reads it
  common::HttpClient client_;
  std::vector<common::PostRequest> requests_;  ///< reused, so steady state allocates nothing
  common::ClockFilter filter_;                 ///< MS1's clock, on store()'s thread only
  std::string report_;                         ///< the batch's Ringtrace-Clock-Offset value
  mutable std::mutex estimate_mutex_;
  std::optional<common::ClockEstimate> estimate_;  ///< filter_'s best, for other threads
};

}  // namespace ringtrace::ms3
