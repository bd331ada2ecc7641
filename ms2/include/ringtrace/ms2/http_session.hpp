#pragma once
/// @file
/// The plain HTTP phase of a connection, before it becomes a WebSocket.

#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "ringtrace/ms2/session_context.hpp"

namespace ringtrace::ms2 {

/// Reads one request with a time and size limit: an upgrade on the configured path becomes a
/// WsSession, anything else is answered (404 elsewhere, 400 for a non-upgrade on the path) and closed.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  /// Time allowed for a client to send its upgrade request.
  static constexpr std::chrono::seconds kRequestTimeout{10};
  /// Largest upgrade request body accepted (upgrades have none).
  static constexpr std::uint64_t kMaxBodyBytes = 4096;

  /// Takes over an accepted socket.
  HttpSession(boost::asio::ip::tcp::socket&& socket, SessionContext& context);
  /// Starts reading on the socket's strand.
  void run();

 private:
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void do_refuse(boost::beast::http::status status, std::string_view why);
  void on_write(boost::beast::error_code ec, std::size_t bytes);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  SessionContext& context_;
};

}  // namespace ringtrace::ms2
