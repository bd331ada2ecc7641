#pragma once
/// @file
/// GET /traces/{trace_id}: MS1 relays Jaeger's query API, so the dashboard draws a message's
/// trace from its own origin (the native Jaeger has no UI, and the page may call nothing else).

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/http_client.hpp"
#include "ringtrace/common/http_session.hpp"
#include "ringtrace/ms1/reports/blocking_worker.hpp"

namespace ringtrace::ms1 {

/// What a Jaeger answer turned out to hold.
enum class JaegerAnswer {
  kTrace,      ///< the trace; the JSON is ready
  kNotFound,   ///< Jaeger has no such trace
  kMalformed,  ///< not the shape Jaeger's /api/traces/{id} answers with
};

/// The outcome of translate_jaeger_trace().
struct TranslatedTrace {
  JaegerAnswer answer = JaegerAnswer::kMalformed;  ///< see JaegerAnswer
  std::string json;   ///< the relay's body when kTrace
  std::string error;  ///< what was wrong when kMalformed
};

/// Turns Jaeger's `/api/traces/{id}` body (`data[0].spans[]`, `processes`) into the relay's
/// shape: spans by start time with their service, parent, kind, status and attributes.
/// `ui_url` (may be empty) gives the `jaeger_ui` link.
TranslatedTrace translate_jaeger_trace(std::string_view jaeger_body, std::string_view trace_id,
                                       std::string_view ui_url);

/// Whether `text` is a trace id as the relay takes it: 32 lowercase hex digits.
bool is_trace_id(std::string_view text);

/// The relay: one small thread of its own doing blocking GETs to Jaeger, so neither a slow Jaeger
/// holds up the reports nor the other way round. Answers are posted to the executor given.
class TraceRelay final : public common::RequestHandler {
 public:
  /// Reads tracing.query_url and tracing.ui_url; an empty query_url answers 503.
  TraceRelay(const common::TracingConfig& config, boost::asio::any_io_executor completions);
  /// Cancels a query in flight and joins.
  ~TraceRelay();

  TraceRelay(const TraceRelay&) = delete;
  TraceRelay& operator=(const TraceRelay&) = delete;

  /// GET /traces/{trace_id}: 200, 400 for a bad id, 404 when Jaeger has no such trace, 502 when
  /// Jaeger is unreachable or answers something else, 503 without a query_url or when busy.
  void handle(common::HttpRequest&& request, common::Responder respond) override;

  /// Cancels a query in flight, answers what is queued, and joins. Idempotent.
  void stop();

 private:
  /// The GET and its translation (relay thread).
  common::HttpResponse relay(const std::string& trace_id);

  std::string query_url_;
  std::string ui_url_;
  std::string base_path_;  ///< the query_url's path, without a trailing '/'
  boost::asio::any_io_executor completions_;
  std::atomic<bool> abort_{false};
  std::unique_ptr<common::HttpClient> client_;  ///< relay thread only; null without a query_url
  BlockingWorker worker_;                       ///< last: stops before the client goes
};

}  // namespace ringtrace::ms1
