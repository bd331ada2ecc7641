#pragma once
/// @file
/// MS1's HTTP front: routes each request to its handler and wraps the state-changing ones in a
/// server span.

#include "ringtrace/common/auth.hpp"
#include "ringtrace/common/http_session.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/reports/sessions_api.hpp"
#include "ringtrace/ms1/service/health_api.hpp"
#include "ringtrace/ms1/ring/session_api.hpp"
#include "ringtrace/ms1/ring/store_api.hpp"

namespace ringtrace::ms1 {

/// What HttpApi serves besides the ring's own routes, and how it guards POST /store.
struct HttpApiOptions {
  /// `Authorization: Bearer <token>` wanted on POST /store (the other routes stay open); an
  /// open one lets everything through.
  common::BearerAuth auth{std::string()};
  common::Counter* unauthorized = nullptr;     ///< counts the refusals of `auth`; must outlive the handler
  /// GET /sessions and /sessions/{id}; without them they answer 503. Must outlive the handler.
  /// (The dashboard's page and its traces are the gateway's, not MS1's.)
  ReportRoutes* reports = nullptr;
};

/// The RequestHandler MS1's listener serves; 404 for unknown paths, 405 (with Allow) for
/// known paths with another method; 401 on POST /store without the shared token, once one is
/// required. Runs on the event loop.
class HttpApi final : public common::RequestHandler {
 public:
  /// Everything referenced must outlive the handler.
  HttpApi(common::tracing::Tracer& tracer, SessionApi& session, StoreApi& store, const HealthApi& health,
          HttpApiOptions options = {});

  /// Routes one request.
  void handle(common::HttpRequest&& request, common::Responder respond) override;

 private:
  /// The answer to a report route when no ReportRoutes were given.
  static common::HttpResponse not_served(std::string_view target);

  common::tracing::Tracer& tracer_;
  SessionApi& session_;
  StoreApi& store_;
  const HealthApi& health_;
  HttpApiOptions options_;
};

}  // namespace ringtrace::ms1
