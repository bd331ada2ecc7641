#include "ringtrace/ms1/ring/store_api.hpp"

#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/clock_offset.hpp"
#include "ringtrace/common/trace_names.hpp"
#include "ringtrace/ms1/ring/store_processor.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
using common::error_json;
using common::json_response;

namespace {

std::string unknown_session(const common::Message& m) { return fmt::format("unknown session {}", m.session_id); }

std::string unknown_id(const common::Message& m) {
  return fmt::format("unknown message id {} of session {}", m.id, m.session_id);
}

/// Whether the span learns which message a request carried: only once it was decoded whole.
bool names_message(common::HopOutcome outcome) {
  return outcome == common::HopOutcome::kOk || outcome == common::HopOutcome::kBadStamps;
}

/// Gives the span the message's ids, so its trace is found by them.
void tag_span(const std::shared_ptr<common::tracing::Span>& span, const common::Message& message) {
  if (!span) return;
  span->set_attribute(common::tracing::attr::kSessionId, message.session_id);
  span->set_attribute(common::tracing::attr::kMessageId, message.id);
}

/// The answer to a request refused before the database sees it (counted and logged), or nullopt
/// when it goes on.
std::optional<common::HttpResponse> refuse_request(const common::HopResult& processed, const Ms1Metrics& m) {
  const auto& message = processed.message;
  switch (processed.outcome) {
    case common::HopOutcome::kOk: return std::nullopt;
    case common::HopOutcome::kNotText:  // a WebSocket outcome: an HTTP body has a media type instead
    case common::HopOutcome::kUnsupportedMediaType:
      m.rejected->inc();
      return error_json(http::status::unsupported_media_type, processed.reason);
    case common::HopOutcome::kMalformed:
      m.rejected->inc();
      spdlog::warn("/store rejected: {}", processed.reason);
      return error_json(http::status::bad_request, processed.reason);
    case common::HopOutcome::kUnstorable:
    case common::HopOutcome::kBadStamps:
      m.rejected->inc();
      spdlog::warn("/store rejected message {}/{}: {}", message.session_id, message.id, processed.reason);
      return error_json(http::status::unprocessable_entity, processed.reason);
  }
  return std::nullopt;
}

/// The answer to a message that no session of MS1 sent (counted and logged).
common::HttpResponse refuse_not_sent(const common::Message& message, const Ms1Metrics& m) {
  m.unknown_id->inc();
  spdlog::warn("/store rejected message {}/{}: the session never sent that id", message.session_id, message.id);
  return error_json(http::status::unprocessable_entity, unknown_id(message));
}

}  // namespace

StoreApi::StoreApi(StoreWriter& writer, SessionRunner& runner, const Ms1Metrics& metrics, common::Naming naming)
    : writer_(writer), runner_(runner), m_(metrics), naming_(naming) {}

void StoreApi::store(const common::HttpRequest& request, common::Responder reply,
                     const std::shared_ptr<common::tracing::Span>& span) {
  // t2 of MS3's clock exchange: the message's end stamp, taken once the request is parsed.
  const auto received = common::now_utc();
  // Every answer of this route carries MS1's two stamps, refusals included: MS3 learns MS1's
  // clock from each, and t3 is taken as late as MS1 can, right before the answer is handed over.
  common::Responder respond = [received, reply = std::move(reply)](common::HttpResponse response) {
    response.set(common::kClockHeader, common::format_clock_stamps({received, common::now_utc()}));
    reply(std::move(response));
  };
  read_clock_report(request);
  auto processed = process_store(request[http::field::content_type], request.body(), naming_, received);
  const auto& message = processed.message;
  if (names_message(processed.outcome)) tag_span(span, message);
  if (auto refusal = refuse_request(processed, m_)) return respond(std::move(*refusal));
  // Only messages MS1 generated are stored: the session it began last is checked here, any other
  // session against the sessions table by the writer.
  const auto origin = runner_.controller().classify(message);
  if (origin == MessageOrigin::kNotSent) return respond(refuse_not_sent(message, m_));
  const auto check = origin == MessageOrigin::kOwn ? IdCheck::kDone : IdCheck::kSessions;
  // The span's trace is stored with the row (a null span: tracing is off, stored untraced).
  writer_.store(message, span ? span->context().trace_id : common::tracing::TraceId{}, check,
                [this, message, respond = std::move(respond)](StoreOutcome outcome) {
                  respond(answer_write(outcome, message));
                });
}

void StoreApi::read_clock_report(const common::HttpRequest& request) {
  const auto header = request.find(common::kClockOffsetHeader);
  if (header == request.end()) return;
  const auto value = header->value();
  // Only a figure, never a reason to refuse the message it came with.
  if (auto report = common::parse_clock_report(std::string_view(value.data(), value.size()))) {
    runner_.on_peer_clock(*report);
    return;
  }
  m_.clock_reports_rejected->inc();
  // A peer that sends one bad header sends it on every batch: the first is worth a warning, the
  // counter tells the rest.
  const bool first = m_.clock_reports_rejected->value() == 1;
  spdlog::log(first ? spdlog::level::warn : spdlog::level::debug,
              "/store: ignored a malformed {} header ({} bytes; ringtrace_clock_reports_rejected_total counts them)",
              common::kClockOffsetHeader, value.size());
}

common::HttpResponse StoreApi::answer_write(StoreOutcome outcome, const common::Message& message) {
  switch (outcome) {
    case StoreOutcome::kStored:
    case StoreOutcome::kDuplicate: {
      const bool fresh = outcome == StoreOutcome::kStored;
      (fresh ? m_.stored : m_.duplicate)->inc();
      // Only the first copy is timed: a resent message's stamps span the outage, not the ring.
      if (fresh) observe_hops(m_, message);
      runner_.on_stored(message);
      return json_response(http::status::ok, fresh ? R"({"stored":true})" : R"({"stored":false,"duplicate":true})");
    }
    case StoreOutcome::kUnavailable:
    case StoreOutcome::kOverloaded: {
      m_.unavailable->inc();
      auto response = error_json(http::status::service_unavailable, outcome == StoreOutcome::kUnavailable
                                                                        ? "database unavailable, retry later"
                                                                        : "database writer overloaded, retry later");
      response.set(http::field::retry_after, "1");
      return response;
    }
    case StoreOutcome::kRejected:
      // Permanent: the same row would be refused again, so a 4xx lets MS3 commit and move on
      // instead of retrying it forever in front of the messages behind it.
      m_.rejected->inc();
      spdlog::error("/store: the database refused message {}/{}; answered 422", message.session_id, message.id);
      return error_json(http::status::unprocessable_entity, "the database refused the message");
    case StoreOutcome::kUnknownSession:
      m_.unknown_session->inc();
      spdlog::warn("/store rejected message {}/{}: no such session closed in the database", message.session_id,
                   message.id);
      return error_json(http::status::unprocessable_entity, unknown_session(message));
    case StoreOutcome::kUnknownId:
      m_.unknown_id->inc();
      spdlog::warn("/store rejected message {}/{}: beyond what the session sent", message.session_id, message.id);
      return error_json(http::status::unprocessable_entity, unknown_id(message));
  }
  return error_json(http::status::internal_server_error, "unknown store outcome");
}

}  // namespace ringtrace::ms1
