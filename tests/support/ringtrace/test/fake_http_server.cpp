#include "ringtrace/test/fake_http_server.hpp"

#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

namespace ringtrace::test {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using net::ip::tcp;

namespace {

/// One connection: reads whatever arrives (pipelined requests included), answers in order, and
/// keeps one write in flight. Lives as long as an operation of its own is pending.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, FakeHttpServer& server, std::size_t number)
      : socket_(std::move(socket)), server_(server), number_(number) {}

  void do_read() {
    auto space = buffer_.prepare(64 * 1024);
    socket_.async_read_some(space, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->on_read(ec, n);
    });
  }

 private:
  void on_read(beast::error_code ec, std::size_t n) {
    if (ec) return;  // the client went away; a pending write finishes or fails on its own
    buffer_.commit(n);
    if (closing_) {  // lingering after our last answer: drain until the client closes
      buffer_.consume(buffer_.size());
      return do_read();
    }
    const auto* data = static_cast<const char*>(buffer_.data().data());
    server_.record_bytes(number_, {data + buffer_.size() - n, n});
    while (buffer_.size() > 0 && !closing_) {
      if (!parser_) {
        parser_.emplace();
        parser_->eager(true);
        parser_->body_limit(16 * 1024 * 1024);
      }
      const auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return finish(true);  // not HTTP: hang up
      if (!parser_->is_done()) {
        if (used == 0) break;
        continue;
      }
      on_request(parser_->release());
      parser_.reset();
    }
    do_read();
  }

  void on_request(http::request<http::string_body> request) {
    ReceivedRequest seen;
    seen.method = std::string(request.method_string());
    seen.target = std::string(request.target());
    seen.content_type = std::string(request[http::field::content_type]);
    seen.traceparent = std::string(request["traceparent"]);
    seen.clock = std::string(request["Ringtrace-Clock-Offset"]);
    seen.body = std::move(request.body());
    seen.connection = number_;
    seen.index = count_++;
    const auto response = server_.answer(std::move(seen));
    if (response.after == AfterAnswer::kHangUp) return finish(true);
    std::string body = response.body;
    if (body.empty()) body = response.status / 100 == 2 ? R"({"stored":true})" : R"({"error":"scripted"})";
    held_ += "HTTP/1.1 " + std::to_string(response.status) + " " +
             std::string(http::obsolete_reason(static_cast<http::status>(response.status))) +
             "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    for (const auto& [name, value] : response.headers) held_ += name + ": " + value + "\r\n";
    if (response.after == AfterAnswer::kClose || !request.keep_alive()) held_ += "Connection: close\r\n";
    held_ += "\r\n" + body;
    const bool last = response.after != AfterAnswer::kKeepAlive || !request.keep_alive();
    if (count_ >= server_.answers_held_until() || last) {
      out_ += held_;
      held_.clear();
    }
    if (last) return finish(false);
    do_write();
  }

  /// Stops handling requests; closes once what is queued went out (`now`: without answering).
  void finish(bool now) {
    closing_ = true;
    if (now) out_.clear();
    do_write();
  }

  void do_write() {
    if (writing_) return;
    if (out_.empty()) {
      if (closing_ && !shut_) {
        shut_ = true;
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);  // FIN; reads linger so nothing is reset
      }
      return;
    }
    writing_ = true;
    sending_ = std::move(out_);
    out_.clear();
    net::async_write(socket_, net::buffer(sending_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return;
      self->do_write();
    });
  }

  tcp::socket socket_;
  FakeHttpServer& server_;
  std::size_t number_;
  std::size_t count_ = 0;  ///< requests read on this connection
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string held_;     ///< answers waiting for answer_after()
  std::string out_;      ///< answers to write next
  std::string sending_;  ///< the write in flight
  bool writing_ = false;
  bool closing_ = false;
  bool shut_ = false;
};

tcp::endpoint loopback(std::uint16_t port) { return {net::ip::make_address("127.0.0.1"), port}; }

}  // namespace

FakeHttpServer::FakeHttpServer(std::uint16_t port) : acceptor_(ioc_) {
  const auto endpoint = loopback(port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  do_accept();
  thread_ = std::thread([this] { ioc_.run(); });
}

FakeHttpServer::~FakeHttpServer() {
  ioc_.stop();
  thread_.join();
}

std::string FakeHttpServer::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

void FakeHttpServer::do_accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    const auto number = connections_.fetch_add(1);
    {
      std::lock_guard lock(mutex_);
      received_.resize(number + 1);
    }
    std::make_shared<Connection>(std::move(socket), *this, number)->do_read();
    do_accept();
  });
}

void FakeHttpServer::set_responder(Responder responder) {
  std::lock_guard lock(mutex_);
  responder_ = std::move(responder);
}

FakeResponse FakeHttpServer::answer(ReceivedRequest request) {
  Responder responder;
  {
    std::lock_guard lock(mutex_);
    responder = responder_;
  }
  FakeResponse response;
  if (responder) {
    response = responder(request);
  } else {
    response.status = held_.load() ? 503 : status_.load();
    if (close_.load()) response.after = AfterAnswer::kClose;
    if (drop_.load()) response.after = AfterAnswer::kDrop;
  }
  request.answered = response.after == AfterAnswer::kHangUp ? 0 : response.status;
  std::lock_guard lock(mutex_);
  requests_.push_back(std::move(request));
  return response;
}

void FakeHttpServer::record_bytes(std::size_t connection, std::string_view bytes) {
  std::lock_guard lock(mutex_);
  received_.at(connection).append(bytes);
}

std::vector<ReceivedRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<std::string> FakeHttpServer::stored() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& r : requests_) {
    if (r.answered / 100 == 2) out.push_back(r.body);
  }
  return out;
}

std::string FakeHttpServer::received() const {
  std::lock_guard lock(mutex_);
  std::string all;
  for (const auto& bytes : received_) all += bytes;
  return all;
}

std::uint16_t free_port() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, loopback(0));
  return acceptor.local_endpoint().port();
}

SilentServer::SilentServer() : acceptor_(ioc_, loopback(0)) {}

std::string SilentServer::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port()) + std::string(target);
}

}  // namespace ringtrace::test
