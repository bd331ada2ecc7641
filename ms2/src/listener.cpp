#include "ringtrace/ms2/listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "ringtrace/ms2/fail.hpp"
#include "ringtrace/ms2/http_session.hpp"

namespace ringtrace::ms2 {

namespace beast = boost::beast;
namespace net = boost::asio;
using net::ip::tcp;

Listener::Listener(net::io_context& ioc, const tcp::endpoint& endpoint, SessionContext& context)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), context_(context) {
  beast::error_code ec;
  const auto check = [&](const char* what) {
    if (ec) {
      throw common::ConfigError("ms2.listen_address/ms2.port: cannot " + std::string(what) + " " +
                                endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) + ": " +
                                ec.message());
    }
  };
  acceptor_.open(endpoint.protocol(), ec);
  check("open");
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  check("configure");
  acceptor_.bind(endpoint, ec);
  check("bind");
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  check("listen on");
}

void Listener::run() { do_accept(); }

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
}

tcp::endpoint Listener::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;  // stopped
  if (ec) {
    detail::fail(ec, "accept");
  } else {
    std::make_shared<HttpSession>(std::move(socket), context_)->run();
  }
  if (acceptor_.is_open()) {
    do_accept();
  }
}

}  // namespace ringtrace::ms2
