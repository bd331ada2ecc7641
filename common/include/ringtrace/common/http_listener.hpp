#pragma once
/// @file
/// Accepts HTTP connections (MS1's API, MS2's WebSocket port, the admin ports of MS2 and MS3).

#include <memory>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "ringtrace/common/http_session.hpp"

namespace ringtrace::common {

/// A port could not be opened; every service reports it the same way: "cannot listen on HOST:PORT: reason",
/// exit status kExitFailure (the configuration may be valid; the port is taken or not ours to use).
class BindError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Accept loop; each connection becomes an HttpSession. Create with std::make_shared.
class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  /// Binds `endpoint` (throws BindError if it cannot); `handler` must outlive it. With `upgrade`, WebSocket
  /// upgrades on its path are handed to it.
  HttpListener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint, RequestHandler& handler,
               HttpLimits limits, UpgradeRoute upgrade = {});
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
  std::shared_ptr<const UpgradeRoute> upgrade_;  ///< null without a route; shared by every session
};

}  // namespace ringtrace::common
