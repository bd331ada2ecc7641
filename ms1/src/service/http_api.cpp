#include "ringtrace/ms1/service/http_api.hpp"

#include <fmt/format.h>

#include "ringtrace/common/trace_names.hpp"
#include "ringtrace/ms1/service/router.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
namespace tracing = common::tracing;
using common::error_json;

HttpApi::HttpApi(tracing::Tracer& tracer, SessionApi& session, StoreApi& store, const HealthApi& health,
                 HttpApiOptions options)
    : tracer_(tracer), session_(session), store_(store), health_(health), options_(std::move(options)) {}

void HttpApi::handle(common::HttpRequest&& request, common::Responder respond) {
  const std::string_view target = request.target();
  const Route handler = route(request.method_string(), target);
  std::shared_ptr<tracing::Span> span;
  if (tracer_.enabled() && (handler == Route::kStart || handler == Route::kStop || handler == Route::kStore)) {
    // A server span per request that changes state; /status and /healthz polls would only be noise.
    const std::string_view method = request.method_string();
    const std::string_view path = target.substr(0, target.find('?'));
    span = std::make_shared<tracing::Span>(tracer_.start_span(
        fmt::format("{} {}", method, path), tracing::SpanKind::kServer,
        tracing::parse_traceparent(std::string_view(request["traceparent"]))));
    span->set_attribute(tracing::attr::kHttpMethod, std::string(method));
    span->set_attribute(tracing::attr::kHttpRoute, std::string(path));
    respond = [span, respond = std::move(respond)](common::HttpResponse response) {
      span->set_attribute(tracing::attr::kHttpStatus, static_cast<std::int64_t>(response.result_int()));
      if (response.result_int() >= 500) span->set_status(tracing::StatusCode::kError, response.body());
      span->end();
      respond(std::move(response));
    };
  }
  switch (handler) {
    case Route::kStart: return session_.start(target, std::move(respond));
    case Route::kStop: return session_.stop(std::move(respond));
    case Route::kStore: {
      // Before the body is even decoded: without the token nothing of the request is looked at.
      if (const auto outcome = options_.auth.check(request); outcome != common::AuthOutcome::kOk) {
        if (options_.unauthorized != nullptr) options_.unauthorized->inc();
        return respond(common::unauthorized_response(outcome));
      }
      return store_.store(request, std::move(respond), span);
    }
    case Route::kStatus: return respond(session_.status());
    case Route::kHealthz: return respond(health_.health());
    case Route::kMetrics: return respond(health_.metrics());
    case Route::kSessions:
      if (options_.reports == nullptr) return respond(not_served(target));
      return options_.reports->list(target, std::move(respond));
    case Route::kSession:
      if (options_.reports == nullptr) return respond(not_served(target));
      return options_.reports->report(target, std::move(respond));
    case Route::kMethodNotAllowed: {
      auto response = error_json(http::status::method_not_allowed,
                                 fmt::format("{} is not allowed on {}", std::string_view(request.method_string()), target));
      response.set(http::field::allow, allowed_method(target));
      return respond(std::move(response));
    }
    case Route::kNotFound:
      return respond(error_json(http::status::not_found,
                                fmt::format("no route {} {}", std::string_view(request.method_string()), target)));
  }
}

common::HttpResponse HttpApi::not_served(std::string_view target) {
  return error_json(http::status::service_unavailable, fmt::format("{} is not served by this MS1", target));
}

}  // namespace ringtrace::ms1
