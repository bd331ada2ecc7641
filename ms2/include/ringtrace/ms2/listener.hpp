#pragma once
/// @file
/// MS2's TCP acceptor.

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

#include "ringtrace/ms2/session_context.hpp"

namespace ringtrace::ms2 {

/// Accepts connections, each on its own strand, and hands them to an HttpSession.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  /// Binds and listens at once, so a taken port fails startup (throws ConfigError naming ms2.port).
  Listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint, SessionContext& context);
  /// Starts accepting.
  void run();
  /// Stops accepting; thread-safe. Connections already accepted live on.
  void stop();
  /// Where it listens (the real port when configured with port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  SessionContext& context_;
};

}  // namespace ringtrace::ms2
