#pragma once
/// @file
/// The session control routes of MS1: GET /start, GET /stop and GET /status.

#include "ringtrace/common/http_session.hpp"
#include "ringtrace/ms1/ring/ms2_link.hpp"
#include "ringtrace/ms1/ring/session_runner.hpp"
#include "ringtrace/ms1/ring/store_writer.hpp"

namespace ringtrace::ms1 {

/// Turns session control requests into runner calls and the runner's state into JSON. Runs on
/// the event loop.
class SessionApi {
 public:
  /// Everything referenced must outlive the handler; `ms2_url` is named in 503 bodies.
  SessionApi(SessionRunner& runner, const Ms2Link& link, const StoreWriter& writer, std::string ms2_url);

  /// GET /start[?duration_seconds=D&window=W]: 200 with the new session, 400 for a bad or
  /// unknown parameter, 409 while one runs, 503 without MS2 or the database. Without a
  /// parameter the configuration's value is used.
  void start(std::string_view target, common::Responder respond);
  /// GET /stop: 200 with the outcome once the session is recorded, 409 when none runs.
  void stop(common::Responder respond);
  /// GET /status: the current session and the last one finished.
  [[nodiscard]] common::HttpResponse status() const;

 private:
  /// The answer to a /start the runner refused: 409 while a session runs, else 503 naming why.
  [[nodiscard]] common::HttpResponse refused(StartRefusal refusal) const;

  SessionRunner& runner_;
  const Ms2Link& link_;
  const StoreWriter& writer_;
  std::string ms2_url_;
};

}  // namespace ringtrace::ms1
