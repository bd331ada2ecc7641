#pragma once
/// @file
/// MS1's POST /store route: what MS3 delivers becomes a row, and the session hears of it.

#include <memory>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/http_session.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/ring/ms1_metrics.hpp"
#include "ringtrace/ms1/ring/session_runner.hpp"
#include "ringtrace/ms1/ring/store_writer.hpp"

namespace ringtrace::ms1 {

/// Runs process_store, hands the message to the writer and answers with its outcome. Runs on
/// the event loop.
class StoreApi {
 public:
  /// Everything referenced must outlive the handler.
  StoreApi(StoreWriter& writer, SessionRunner& runner, const Ms1Metrics& metrics, common::Naming naming);

  /// POST /store: 200 stored or duplicate, 400/415/422 refused (422 too for a message MS1 never
  /// generated: unknown session or id), 503 (Retry-After) while the database is down or busy.
  /// Every answer carries `Ringtrace-Clock: <t2_us> <t3_us>` (MS1's clock when the request was
  /// handled and when the answer went); a `Ringtrace-Clock-Offset` report from MS3 reaches the
  /// session runner, a malformed one is counted and ignored. `span`, when tracing, gets the
  /// message's ids.
  void store(const common::HttpRequest& request, common::Responder respond,
             const std::shared_ptr<common::tracing::Span>& span);

 private:
  /// The answer to what the writer made of a message, after counting it (and, once stored,
  /// timing its hops and telling the session).
  common::HttpResponse answer_write(StoreOutcome outcome, const common::Message& message);
  /// Hands MS3's clock report, when the request has one, to the session runner.
  void read_clock_report(const common::HttpRequest& request);

  StoreWriter& writer_;
  SessionRunner& runner_;
  const Ms1Metrics& m_;
  common::Naming naming_;
};

}  // namespace ringtrace::ms1
