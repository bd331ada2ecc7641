#pragma once
/// @file
/// The small HTTP port MS2 and MS3 open beside their real work, so probes and Prometheus can ask
/// how they are doing: `GET /metrics` and `GET /healthz`.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "ringtrace/common/http_listener.hpp"
#include "ringtrace/common/metrics.hpp"

namespace ringtrace::common {

/// What `/healthz` answers: 200 with `body` when `ok`, else 503 with `body`.
struct HealthReport {
  bool ok = true;                      ///< ready to do its work
  std::string body = R"({"status":"ok"})";  ///< a JSON object
};

/// A `/metrics` response rendering `metrics` now.
HttpResponse metrics_response(const MetricsRegistry& metrics);

/// Serves `/metrics` and `/healthz`; 404 elsewhere, 405 for other methods. Runs on the caller's
/// io_context, which must outlive it (the acceptor belongs to it) and must not run again once it
/// is destroyed (sessions still queued there refer to it).
class AdminServer final : public RequestHandler {
 public:
  /// Binds `endpoint` (throws BindError if it cannot) and starts accepting;
  /// `health` runs on the io_context's thread for every probe.
  AdminServer(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
              const MetricsRegistry& metrics, std::function<HealthReport()> health);
  ~AdminServer() override;
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  /// Stops accepting; connections already open finish their request.
  void stop();
  /// The bound endpoint (port 0 picks a free one).
  [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;
  /// Answers one request.
  void handle(HttpRequest&& request, Responder respond) override;

 private:
  const MetricsRegistry& metrics_;
  std::function<HealthReport()> health_;
  std::shared_ptr<HttpListener> listener_;
};

}  // namespace ringtrace::common
