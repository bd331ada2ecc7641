#pragma once
/// @file
/// MS1's HTTP front: routes each request to its handler and wraps the state-changing ones in a
/// server span.

#include "ringtrace/common/http_session.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/health_api.hpp"
#include "ringtrace/ms1/session_api.hpp"
#include "ringtrace/ms1/store_api.hpp"

namespace ringtrace::ms1 {

/// The RequestHandler MS1's listener serves; 404 for unknown paths, 405 (with Allow) for
/// known paths with another method. Runs on the event loop.
class HttpApi final : public common::RequestHandler {
 public:
  /// Everything referenced must outlive the handler.
  HttpApi(common::tracing::Tracer& tracer, SessionApi& session, StoreApi& store, const HealthApi& health);

  /// Routes one request.
  void handle(common::HttpRequest&& request, common::Responder respond) override;

 private:
  common::tracing::Tracer& tracer_;
  SessionApi& session_;
  StoreApi& store_;
  const HealthApi& health_;
};

}  // namespace ringtrace::ms1
