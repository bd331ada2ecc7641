#include "ringtrace/ms2/ws_session.hpp"

#include <string_view>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/clock_offset.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/common/trace_names.hpp"
#include "ringtrace/ms2/fail.hpp"
#include "ringtrace/ms2/frame_processor.hpp"

namespace ringtrace::ms2 {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

namespace {

/// Longest rejection reason written to the log, so one bad frame stays one short line.
constexpr std::size_t kMaxReasonChars = 200;

std::string describe(const net::ip::tcp::socket& socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("?") : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

WsSession::WsSession(net::ip::tcp::socket&& socket, SessionContext& context)
    : ws_(std::move(socket)), context_(context) {
  peer_ = describe(beast::get_lowest_layer(ws_).socket());
}

WsSession::~WsSession() {
  context_.registry.remove(this);
}

void WsSession::run(beast::http::request<beast::http::string_body> request) {
  // The websocket stream keeps its own timers; the tcp_stream's would cut idle but healthy peers.
  // Beast pings a quiet MS1 at half the idle timeout and ends the session after the whole of it.
  beast::get_lowest_layer(ws_).expires_never();
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = std::chrono::milliseconds(context_.settings.ms2.ws_idle_timeout_ms);
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  // The stream holds the callback, so it holds no shared pointer to its own session: it runs only
  // inside a read, whose handler keeps the session alive.
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
    on_control(kind, std::string_view(payload.data(), payload.size()));
  });
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(beast::http::field::server, "ringtrace-ms2"); }));
  ws_.read_message_max(context_.settings.ms2.max_frame_bytes);
  context_.registry.add(shared_from_this());
  ws_.async_accept(request, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) return detail::fail(ec, "accept");
  spdlog::info("ms2: websocket session from {}", peer_);
  do_read();
}

void WsSession::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec == websocket::error::closed) {
    spdlog::info("ms2: websocket session from {} closed", peer_);
    return;
  }
  if (ec) return detail::fail(ec, "read");
  handle_frame();
  buffer_.consume(buffer_.size());
  if (!pending_) do_read();  // else on_writable() reads again
}

void WsSession::handle_frame() {
  context_.counters.frames_received.fetch_add(1, std::memory_order_relaxed);
  const std::string_view frame(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  auto result = process_frame(frame, ws_.got_text(), context_.settings.naming, common::now_utc());
  namespace tracing = common::tracing;
  namespace attr = tracing::attr;
  auto& tracer = context_.tracer;
  tracing::Span receive;
  if (tracer.enabled()) {
    receive = tracer.start_span(tracing::span::kWsReceive, tracing::SpanKind::kConsumer, tracing::parse_traceparent(result.traceparent));
    receive.set_attribute(attr::kMessagingSystem, std::string(tracing::system_name::kWebSocket));
    receive.set_attribute(attr::kMessagingOperation, std::string("receive"));
    receive.set_attribute(attr::kNetPeerName, peer_);
    receive.set_attribute(attr::kSessionId, result.message.session_id);
    receive.set_attribute(attr::kMessageId, result.message.id);
  }
  if (!result.ok()) {
    receive.set_status(tracing::StatusCode::kError, std::string(to_string(result.outcome)) + ": " + result.reason);
    context_.counters.frames_rejected.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t suppressed = 0;
    if (context_.reject_log.allow(suppressed)) {
      std::string_view reason(result.reason);
      spdlog::warn("ms2: rejected frame from {} ({} bytes): {}: {}{}", peer_, frame.size(), to_string(result.outcome),
                   reason.substr(0, kMaxReasonChars),
                   suppressed ? " (+" + std::to_string(suppressed) + " rejections not logged)" : std::string());
    }
    return;
  }
  Pending pending{Record{record_key(context_.settings.kafka, result.message.session_id, result.message.id), std::move(result.payload), {}},
                  nullptr};
  if (tracer.enabled()) {
    pending.span = std::make_shared<tracing::Span>(
        tracer.start_span(tracing::span::kKafkaProduce, tracing::SpanKind::kProducer, receive.context()));
    auto& produce = *pending.span;
    produce.set_attribute(attr::kMessagingSystem, std::string(tracing::system_name::kKafka));
    produce.set_attribute(attr::kMessagingDestination, context_.settings.kafka.topic);
    produce.set_attribute(attr::kKafkaMessageKey, pending.record.key);
    produce.set_attribute(attr::kSessionId, result.message.session_id);
    produce.set_attribute(attr::kMessageId, result.message.id);
    pending.record.traceparent = produce.traceparent();
  }
  do_produce(std::move(pending));
}

// The span ends when the broker has answered: the delivery report comes on the sink's thread and is
// handed to this session's executor, which outlives every report (the service closes the sink first).
void WsSession::do_produce(Pending pending) {
  namespace tracing = common::tracing;
  DeliveryCallback on_delivery;
  if (pending.span) {
    on_delivery = [executor = ws_.get_executor(), span = pending.span](const DeliveryReport& report) {
      net::post(executor, [span, report] {
        if (!report.ok) span->set_status(tracing::StatusCode::kError, report.error);
        span->end();
      });
    };
  }
  const auto outcome = context_.sink.produce(pending.record, std::move(on_delivery));
  if (outcome == ProduceOutcome::kQueueFull) {
    // No read is pending now, so the sink's wake-up owns the session until it fires (or the sink closes).
    pending_.emplace(std::move(pending));
    context_.sink.when_writable([self = shared_from_this()] {
      net::post(self->ws_.get_executor(), [self] { self->on_writable(); });
    });
    return;
  }
  if (outcome == ProduceOutcome::kFailed && pending.span) {
    pending.span->set_status(tracing::StatusCode::kError, std::string(to_string(outcome)));
  }
}

void WsSession::on_writable() {
  if (!pending_) return;
  Pending pending = std::move(*pending_);
  pending_.reset();
  do_produce(std::move(pending));
  if (!pending_ && !closing_) do_read();
}

void WsSession::on_control(websocket::frame_type kind, std::string_view payload) {
  if (kind != websocket::frame_type::ping) return;
  // t2 at once: the request has arrived. Beast answers every ping with its echo by itself; a
  // probe also gets MS2's stamps in a pong of its own, sent from outside the read.
  const auto t2 = common::now_utc();
  const auto probe = common::parse_probe(payload);
  if (!probe) return;
  net::post(ws_.get_executor(), [self = shared_from_this(), probe = *probe, t2] { self->do_clock_reply(probe, t2); });
}

void WsSession::do_clock_reply(const common::ClockProbe& probe, common::Timestamp t2) {
  // One pong at a time (Beast's rule for ping and pong): MS1 misses a sample rather than waits.
  if (reply_in_flight_ || closing_ || !ws_.is_open()) return;
  reply_ = common::format_reply({probe.seq, probe.t1, t2, common::now_utc()});
  reply_in_flight_ = true;
  ws_.async_pong(websocket::ping_data(reply_.c_str(), reply_.size()),
                 [self = shared_from_this()](beast::error_code ec) {
                   self->reply_in_flight_ = false;
                   // The read sees a broken connection too, and ends the session there.
                   if (ec && ec != net::error::operation_aborted && ec != websocket::error::closed) {
                     spdlog::debug("ms2: clock reply to {} failed: {}", self->peer_, ec.message());
                   }
                 });
}

void WsSession::close() {
  net::dispatch(ws_.get_executor(), [self = shared_from_this()] {
    if (self->closing_ || !self->ws_.is_open()) {
      return;
    }
    self->closing_ = true;
    self->ws_.async_close(websocket::close_code::going_away,
                          beast::bind_front_handler(&WsSession::on_close, self));
  });
}

void WsSession::on_close(beast::error_code ec) {
  if (ec) return detail::fail(ec, "close");
}

}  // namespace ringtrace::ms2
