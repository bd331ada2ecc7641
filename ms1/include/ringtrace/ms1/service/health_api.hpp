#pragma once
/// @file
/// MS1's operational routes, served on its own port: GET /healthz and GET /metrics.

#include "ringtrace/common/http_session.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/ms1/ring/ms2_link.hpp"
#include "ringtrace/ms1/ring/session_runner.hpp"
#include "ringtrace/ms1/ring/store_writer.hpp"

namespace ringtrace::ms1 {

/// Readiness and the metrics page. Runs on the event loop (the scrape reads gauges there).
class HealthApi {
 public:
  /// Everything referenced must outlive the handler.
  HealthApi(const Ms2Link& link, const StoreWriter& writer, const SessionRunner& runner,
            const common::MetricsRegistry& metrics);

  /// GET /healthz: 200 while MS2 and the database are up and MS1 is not stopping, else 503.
  [[nodiscard]] common::HttpResponse health() const;
  /// GET /metrics: the Prometheus text page.
  [[nodiscard]] common::HttpResponse metrics() const;

 private:
  const Ms2Link& link_;
  const StoreWriter& writer_;
  const SessionRunner& runner_;
  const common::MetricsRegistry& metrics_;
};

}  // namespace ringtrace::ms1
