#pragma once
/// @file
/// One HTTP/1.1 server connection: pipelined, time- and size-limited reads, asynchronous in-order responses.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
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

/// Takes over a connection whose request asked to become a WebSocket: its socket, the bytes read
/// past the request (a client may not send frames before the 101, so normally none) and the request.
using UpgradeHandler =
    std::function<void(boost::asio::ip::tcp::socket&& socket, boost::beast::flat_buffer&& buffer, HttpRequest&& request)>;

/// Upgrade requests on `path` (query ignored) go to `handler`; every other request, upgrade or
/// not, goes to the RequestHandler, so one port serves both and refuses the rest in one place.
struct UpgradeRoute {
  std::string path;        ///< e.g. "/ws"
  UpgradeHandler handler;  ///< runs on the connection's executor
};

/// Limits applied to every connection.
struct HttpLimits {
  std::size_t max_body_bytes = 64 * 1024;        ///< larger bodies get 413
  std::chrono::milliseconds read_timeout{10000}; ///< an idle connection's next request, and each write, get this long
  std::size_t max_pipelined = 512;               ///< unanswered requests a connection may have before reading pauses
};

/// Builds a JSON response with the usual headers.
HttpResponse json_response(boost::beast::http::status status, std::string body);

/// Builds `{"error": reason}` with `status`, escaping `reason` as JSON requires.
HttpResponse error_json(boost::beast::http::status status, std::string_view reason);

/// Serves one connection with HTTP/1.1 pipelining: keeps reading while earlier requests wait in the handler (up to
/// HttpLimits::max_pipelined), so a client can stream many requests and the handler can batch them; responses go out
/// in request order, whatever order the handler answers in. An upgrade request matching the UpgradeRoute is read
/// last: once the responses before it are written, the connection is handed over. Runs on the socket's executor
/// only; no locks.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  /// Takes ownership of an accepted socket; `handler` must outlive the session; `upgrade` may be null.
  HttpSession(boost::asio::ip::tcp::socket&& socket, RequestHandler& handler, HttpLimits limits,
              std::shared_ptr<const UpgradeRoute> upgrade = nullptr);
  /// Starts reading.
  void run();

 private:
  /// One request that has no response on the wire yet, in request order.
  struct Slot {
    std::optional<HttpResponse> response;  ///< empty until the handler answers
    bool keep_alive = false;               ///< of the request; false makes this the last response
    unsigned version = 11;                 ///< of the request, echoed in the response
  };
  /// Which time limit the timer enforces; it changes only when the connection's state does.
  enum class Deadline { kNone, kIdle, kWrite, kLinger };

  void pump();
  [[nodiscard]] bool wants_upgrade(const HttpRequest& request) const;
  void hand_over();
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_response(std::uint64_t seq, HttpResponse response);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  [[nodiscard]] Deadline wanted_deadline() const;
  void arm(Deadline deadline);
  void on_timeout();
  void finish();
  void do_linger();
  void do_close();

  boost::asio::ip::tcp::socket socket_;
  /// Our own deadline instead of beast::tcp_stream's: its read and write expiries cannot be changed while the
  /// operation is pending, and a pipelined read stays pending across idle, busy and writing phases.
  boost::asio::steady_timer timer_;
  boost::beast::flat_buffer buffer_;
  RequestHandler& handler_;
  HttpLimits limits_;
  std::shared_ptr<const UpgradeRoute> upgrade_;
  std::optional<HttpRequest> upgrade_request_;  ///< read, waiting for the responses before it to be written
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::deque<Slot> slots_;       ///< unwritten responses; front() is request number front_seq_
  std::uint64_t front_seq_ = 0;  ///< responders find their slot by request number, so answers may come in any order
  std::size_t in_flight_ = 0;    ///< responses in the current write; still count against max_pipelined
  std::string out_;              ///< the current write: ready responses serialized back to back, one syscall for many
  std::size_t lingered_ = 0;     ///< bytes discarded after our FIN, bounded
  std::uint64_t timer_gen_ = 0;  ///< tells a stale timer completion from the current one
  Deadline deadline_ = Deadline::kNone;
  bool reading_ = false;
  bool writing_ = false;
  bool read_done_ = false;  ///< no more requests will be read (close requested, read error, end of stream)
  bool closing_ = false;    ///< FIN sent; draining what the client still sends
  bool closed_ = false;
};

}  // namespace ringtrace::common
