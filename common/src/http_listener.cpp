#include "ringtrace/common/http_listener.hpp"

#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

namespace ringtrace::common {

using tcp = boost::asio::ip::tcp;

HttpListener::HttpListener(boost::asio::io_context& ioc, const tcp::endpoint& endpoint, RequestHandler& handler,
                           HttpLimits limits, UpgradeRoute upgrade)
    : ioc_(ioc), acceptor_(ioc), handler_(handler), limits_(limits) {
  if (upgrade.handler) upgrade_ = std::make_shared<const UpgradeRoute>(std::move(upgrade));
  boost::beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw BindError("cannot listen on " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) +
                    ": " + ec.message());
  }
}

void HttpListener::run() { do_accept(); }

void HttpListener::stop() {
  boost::beast::error_code ignored;
  acceptor_.close(ignored);
}

void HttpListener::do_accept() {
  acceptor_.async_accept(ioc_, [self = shared_from_this()](boost::beast::error_code ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void HttpListener::on_accept(boost::beast::error_code ec, tcp::socket socket) {
  if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    spdlog::warn("http accept failed: {}", ec.message());
  } else {
    boost::beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<HttpSession>(std::move(socket), handler_, limits_, upgrade_)->run();
  }
  do_accept();
}

}  // namespace ringtrace::common
