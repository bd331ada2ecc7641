#include "ringtrace/common/http_session.hpp"

#include <algorithm>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

namespace ringtrace::common {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// A batch stops growing past this, so one write's buffer stays bounded (a single larger response still goes alone).
constexpr std::size_t kMaxWriteBatchBytes = 64 * 1024;
/// After our last response, what the client still sends is read and dropped for at most this long and this much,
/// so the kernel does not answer it with a reset that could destroy responses the client has not read yet.
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;
constexpr std::size_t kHeaderLimit = 16 * 1024;

/// Appends the wire form of `response` to `out`; copying small JSON bodies is cheaper than a syscall per response.
void serialize_into(HttpResponse& response, std::string& out) {
  http::response_serializer<http::string_body> serializer{response};
  beast::error_code ec;
  do {
    serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
      std::size_t bytes = 0;
      for (const auto buffer : beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(buffer.data()), buffer.size());
        bytes += buffer.size();
      }
      serializer.consume(bytes);
    });
  } while (!ec && !serializer.is_done());
}

/// The client went away or we closed the socket: nothing to answer, only pending responses to flush.
bool is_transport_end(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec.category() != beast::error_code(http::error::end_of_stream).category();
}

}  // namespace

HttpResponse json_response(http::status status, std::string body) {
  HttpResponse response{status, 11};
  response.set(http::field::server, "ringtrace");
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  return response;
}

HttpResponse error_json(http::status status, std::string_view reason) {
  return json_response(status, boost::json::serialize(boost::json::object{{"error", reason}}));
}

HttpSession::HttpSession(tcp::socket&& socket, RequestHandler& handler, HttpLimits limits,
                         std::shared_ptr<const UpgradeRoute> upgrade)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      handler_(handler),
      limits_(limits),
      upgrade_(std::move(upgrade)) {}

void HttpSession::run() {
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->pump(); });
}

// Called after every change of state: starts what can start, ends the connection when nothing is left, and keeps
// the timer matching the state.
void HttpSession::pump() {
  if (closed_ || closing_) return;
  do_write();
  if (upgrade_request_ && !writing_ && slots_.empty()) return hand_over();
  if (read_done_ && !reading_ && !writing_ && slots_.empty()) return finish();
  // At the limit, further requests stay unread (in buffer_ or the socket) and TCP backpressure slows the client;
  // a limit of 0 would never read at all.
  if (!read_done_ && !reading_ && slots_.size() + in_flight_ < std::max<std::size_t>(limits_.max_pipelined, 1)) {
    do_read();
  }
  if (const Deadline wanted = wanted_deadline(); wanted != deadline_) arm(wanted);
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->body_limit(limits_.max_body_bytes);
  parser_->header_limit(kHeaderLimit);
  reading_ = true;
  http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (closed_ || closing_) return;
  if (ec) {
    // Whatever went wrong, this is the last read; the error answer, if any, queues behind earlier responses.
    read_done_ = true;
    if (ec == http::error::body_limit) {
      slots_.push_back({error_json(http::status::payload_too_large,
                                   "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes"),
                        false, 11});
    } else if (!is_transport_end(ec)) {
      spdlog::debug("http: bad request from client: {}", ec.message());
      slots_.push_back({error_json(http::status::bad_request, "malformed HTTP request: " + ec.message()), false, 11});
    }
    return pump();
  }
  HttpRequest request = parser_->release();
  if (wants_upgrade(request)) {
    read_done_ = true;  // what follows belongs to the WebSocket
    upgrade_request_ = std::move(request);
    return pump();
  }
  const bool keep_alive = request.keep_alive();
  if (!keep_alive) read_done_ = true;
  slots_.push_back({std::nullopt, keep_alive, request.version()});
  const std::uint64_t seq = front_seq_ + slots_.size() - 1;
  // The responder may run inside handle() (and then write and read again before handle() returns) or much later.
  handler_.handle(std::move(request), [self = shared_from_this(), seq](HttpResponse response) {
    self->on_response(seq, std::move(response));
  });
  pump();
}

bool HttpSession::wants_upgrade(const HttpRequest& request) const {
  if (!upgrade_ || !boost::beast::websocket::is_upgrade(request)) return false;
  const std::string_view target = request.target();
  return target.substr(0, target.find('?')) == upgrade_->path;
}

// The connection stops being ours: no timer of ours may touch the socket again, and no responder may write.
void HttpSession::hand_over() {
  closed_ = true;
  ++timer_gen_;
  timer_.cancel();
  HttpRequest request = std::move(*upgrade_request_);
  upgrade_request_.reset();
  upgrade_->handler(std::move(socket_), std::move(buffer_), std::move(request));
}

void HttpSession::on_response(std::uint64_t seq, HttpResponse response) {
  // Late answers to a closed connection, and second answers (slot filled or already written), are dropped.
  if (closed_ || closing_ || seq < front_seq_ || seq - front_seq_ >= slots_.size()) return;
  Slot& slot = slots_[seq - front_seq_];
  if (slot.response) return;
  slot.response = std::move(response);
  if (seq == front_seq_) pump();  // an answer behind an unanswered one waits for it
}

void HttpSession::do_write() {
  if (writing_ || slots_.empty() || !slots_.front().response) return;
  out_.clear();
  while (!slots_.empty() && slots_.front().response && (out_.empty() || out_.size() < kMaxWriteBatchBytes)) {
    Slot& slot = slots_.front();
    HttpResponse& response = *slot.response;
    response.version(slot.version);
    response.keep_alive(slot.keep_alive);
    response.prepare_payload();
    serialize_into(response, out_);
    slots_.pop_front();
    ++front_seq_;
    ++in_flight_;
  }
  writing_ = true;
  net::async_write(socket_, net::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_write(ec, n);
  });
  arm(Deadline::kWrite);  // each write gets the full time, even right after another
}

void HttpSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  in_flight_ = 0;
  if (closed_) return;
  if (ec) {
    spdlog::debug("http: write to client failed: {}", ec.message());
    return do_close();
  }
  pump();
}

// One timer serves all phases because a read may stay outstanding through all of them:
//  - idle (read waiting, nothing unanswered, no write): read_timeout, counted from when the connection went idle, so
//    a request trickling in slowly is cut too;
//  - requests in the handler, no write: none, however long the database takes;
//  - a write in progress: read_timeout for that write, so a client that never reads its responses is dropped;
//  - after our FIN: a short linger.
HttpSession::Deadline HttpSession::wanted_deadline() const {
  if (closing_) return Deadline::kLinger;
  if (writing_) return Deadline::kWrite;
  if (reading_ && slots_.empty()) return Deadline::kIdle;
  return Deadline::kNone;
}

void HttpSession::arm(Deadline deadline) {
  deadline_ = deadline;
  ++timer_gen_;  // a completion already queued for the previous deadline must not fire
  if (deadline == Deadline::kNone) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(deadline == Deadline::kLinger ? std::min(limits_.read_timeout, kMaxLinger)
                                                     : limits_.read_timeout);
  timer_.async_wait([self = shared_from_this(), gen = timer_gen_](beast::error_code ec) {
    if (!ec && gen == self->timer_gen_) self->on_timeout();
  });
}

void HttpSession::on_timeout() {
  if (closed_) return;
  if (deadline_ != Deadline::kLinger) spdlog::debug("http: connection timed out");
  do_close();
}

// All responses are written and nothing more will be read: send FIN, then drain until the client closes.
void HttpSession::finish() {
  closing_ = true;
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  arm(Deadline::kLinger);
  do_linger();
}

void HttpSession::do_linger() {
  socket_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    if (self->closed_) return;
    self->lingered_ += n;
    if (ec || self->lingered_ > kMaxLingerBytes) return self->do_close();
    self->do_linger();
  });
}

void HttpSession::do_close() {
  if (closed_) return;
  closed_ = true;
  ++timer_gen_;
  timer_.cancel();
  beast::error_code ignored;
  socket_.close(ignored);  // the pending read or write completes with operation_aborted and finds closed_
  slots_.clear();          // responders that come later find closed_ and do nothing
}

}  // namespace ringtrace::common
