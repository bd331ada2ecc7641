#include "ringtrace/common/admin_server.hpp"


namespace ringtrace::common {

namespace http = boost::beast::http;

namespace {

/// Probes and scrapes are tiny GETs; anything bigger is not for this port.
constexpr HttpLimits kAdminLimits{4096, std::chrono::milliseconds(5000)};

}  // namespace

HttpResponse metrics_response(const MetricsRegistry& metrics) {
  HttpResponse response{http::status::ok, 11};
  response.set(http::field::server, "ringtrace");
  response.set(http::field::content_type, kMetricsContentType);
  response.body() = metrics.render();
  return response;
}

AdminServer::AdminServer(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
                         const MetricsRegistry& metrics, std::function<HealthReport()> health)
    : metrics_(metrics),
      health_(std::move(health)),
      listener_(std::make_shared<HttpListener>(ioc, endpoint, *this, kAdminLimits)) {
  listener_->run();
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::stop() { listener_->stop(); }

boost::asio::ip::tcp::endpoint AdminServer::local_endpoint() const { return listener_->local_endpoint(); }

void AdminServer::handle(HttpRequest&& request, Responder respond) {
  const std::string_view target = request.target();
  const auto path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/healthz") {
    const std::string reason = "no route " + std::string(path) + "; this port serves /metrics and /healthz";
    return respond(error_json(http::status::not_found, reason));
  }
  if (request.method() != http::verb::get) {
    auto response = error_json(http::status::method_not_allowed, "only GET is allowed here");
    response.set(http::field::allow, "GET");
    return respond(std::move(response));
  }
  if (path == "/metrics") return respond(metrics_response(metrics_));
  auto report = health_();
  respond(json_response(report.ok ? http::status::ok : http::status::service_unavailable, std::move(report.body)));
}

}  // namespace ringtrace::common
