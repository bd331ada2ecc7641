#pragma once
/// @file
/// Accepts HTTP connections (MS1's API, the admin ports of MS2 and MS3).

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "ringtrace/common/http_session.hpp"

namespace ringtrace::common {

/// Accept loop; each connection becomes an HttpSession. Create with std::make_shared.
class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  /// Binds `endpoint` (throws boost::system::system_error if it cannot); `handler` must outlive it.
  HttpListener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint, RequestHandler& handler,
               HttpLimits limits);
  /// Starts accepting.
  void run();
  /// Stops accepting (existing connections finish on their own).
  void stop();
  /// The bound endpoint (port 0 in the config picks a free port; tests use this).
  [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  RequestHandler& handler_;
  HttpLimits limits_;
};

}  // namespace ringtrace::common
