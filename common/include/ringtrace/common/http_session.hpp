#pragma once
/// @file
/// One HTTP/1.1 server connection: time- and size-limited reads, asynchronous responses.

#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace ringtrace::common {

/// A request as the services read it.
using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
/// A response as the services write it.
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
/// Called exactly once per request, on the event loop, possibly long after handle() returned.
using Responder = std::function<void(HttpResponse)>;

/// Answers requests; may respond later (e.g. after the database write).
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  /// Handles `request`; must eventually call `respond` once.
  virtual void handle(HttpRequest&& request, Responder respond) = 0;
};

/// Limits applied to every connection.
struct HttpLimits {
  std::size_t max_body_bytes = 64 * 1024;        ///< larger bodies get 413
  std::chrono::milliseconds read_timeout{10000}; ///< a request must arrive within this
};

/// Builds a JSON response with the usual headers.
HttpResponse json_response(boost::beast::http::status status, std::string body);

/// Builds `{"error": reason}` with `status`, escaping `reason` as JSON requires.
HttpResponse error_json(boost::beast::http::status status, std::string_view reason);

/// Serves one connection: reads a request, waits for the handler's response, writes it, repeats
/// while keep-alive holds. One request at a time; responses keep request order.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  /// Takes ownership of an accepted socket; `handler` must outlive the session.
  HttpSession(boost::asio::ip::tcp::socket&& socket, RequestHandler& handler, HttpLimits limits);
  /// Starts reading.
  void run();

 private:
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void send(HttpResponse response, bool keep_alive);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  RequestHandler& handler_;
  HttpLimits limits_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<HttpResponse> pending_;  ///< kept alive until its write completes
};

}  // namespace ringtrace::common
