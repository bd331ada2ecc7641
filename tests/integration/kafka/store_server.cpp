#include "store_server.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ringtrace::test {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using net::ip::tcp;

namespace {

/// One kept-alive connection: read a request, answer, repeat until the client closes.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, StoreServer& server) : stream_(std::move(socket)), server_(server) {}

  void do_read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->on_request();
    });
  }

 private:
  void on_request() {
    ReceivedRequest seen{std::string(request_.method_string()), std::string(request_.target()),
                         std::string(request_[http::field::content_type]), request_.body(), 0};
    const unsigned status = server_.record(std::move(seen));
    response_ = {static_cast<http::status>(status), request_.version()};
    response_.set(http::field::content_type, "application/json");
    response_.body() = status == 200 ? R"({"stored":true})" : R"({"error":"scripted"})";
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (!self->response_.keep_alive() || self->server_.dropping()) {
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        return;
      }
      self->do_read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  StoreServer& server_;
};

}  // namespace

StoreServer::StoreServer(std::uint16_t port) : acceptor_(ioc_) {
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  do_accept();
  thread_ = std::thread([this] { ioc_.run(); });
}

StoreServer::~StoreServer() {
  ioc_.stop();
  thread_.join();
}

void StoreServer::do_accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    count_connection();
    std::make_shared<Connection>(std::move(socket), *this)->do_read();
    do_accept();
  });
}

unsigned StoreServer::record(ReceivedRequest request) {
  request.answered = held_.load() ? 503 : 200;
  std::lock_guard lock(mutex_);
  requests_.push_back(request);
  return request.answered;
}

std::vector<ReceivedRequest> StoreServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<std::string> StoreServer::stored() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& r : requests_) {
    if (r.answered / 100 == 2) out.push_back(r.body);
  }
  return out;
}

std::uint16_t free_port() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace ringtrace::test
