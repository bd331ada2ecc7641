#pragma once
/// @file
/// One MS1 → MS2 WebSocket connection.

#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "ringtrace/ms2/session_context.hpp"

namespace ringtrace::ms2 {

/// Reads text frames forever on its socket's strand and hands each to the producer; a bad frame is
/// logged and counted and the next one is read as usual. Owns itself through shared_from_this.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  /// Takes over a socket whose upgrade request has already been read.
  WsSession(boost::asio::ip::tcp::socket&& socket, SessionContext& context);
  /// Leaves the registry, which may end a graceful shutdown.
  ~WsSession();

  /// Completes the upgrade for `request` and starts reading.
  void run(boost::beast::http::request<boost::beast::http::string_body> request);
  /// Sends a close frame (going away); thread-safe, the session ends once the peer answers or times out.
  void close();

 private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_close(boost::beast::error_code ec);
  void handle_frame();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  SessionContext& context_;
  std::string peer_;
  bool closing_ = false;
};

}  // namespace ringtrace::ms2
