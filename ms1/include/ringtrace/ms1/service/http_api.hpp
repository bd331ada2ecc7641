#pragma once
/// @file
/// MS1's HTTP front: routes each request to its handler and wraps the state-changing ones in a
/// server span.

#include "ringtrace/common/auth.hpp"
#include "ringtrace/common/http_session.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/service/health_api.hpp"
#include "ringtrace/ms1/ring/session_api.hpp"
#include "ringtrace/ms1/ring/store_api.hpp"

namespace ringtrace::ms1 {

/// The RequestHandler MS1's listener serves; 404 for unknown paths, 405 (with Allow) for
/// known paths with another method; 401 on POST /store without the shared token, once one is
/// required. Runs on the event loop.
class HttpApi final : public common::RequestHandler {
 public:
  /// Everything referenced must outlive the handler.
  HttpApi(common::tracing::Tracer& tracer, SessionApi& session, StoreApi& store, const HealthApi& health);

  /// Requires `Authorization: Bearer <token>` on POST /store from now on (the other routes stay
  /// open), counting refusals in `unauthorized`; an open `auth` lets everything through. Call
  /// before serving; `unauthorized` must outlive the handler.
  void require_token(common::BearerAuth auth, common::Counter& unauthorized);

  /// Serves the report routes from now on: GET /sessions and /sessions/{id} by `sessions`; until
  /// then they answer 503. Call before serving; `sessions` must outlive the handler. (The
  /// dashboard's page and its traces are the gateway's, not MS1's.)
  void serve_reports(common::RequestHandler& sessions);

  /// Routes one request.
  void handle(common::HttpRequest&& request, common::Responder respond) override;

 private:
  /// Hands the request to `handler`, or answers 503 when it is not there.
  static void delegate(common::RequestHandler* handler, common::HttpRequest&& request, common::Responder respond);

  common::tracing::Tracer& tracer_;
  SessionApi& session_;
  StoreApi& store_;
  const HealthApi& health_;
  common::BearerAuth auth_;                  ///< open until require_token()
  common::Counter* unauthorized_ = nullptr;  ///< set with auth_
  common::RequestHandler* sessions_ = nullptr;  ///< set by serve_reports()
};

}  // namespace ringtrace::ms1
