#pragma once
/// @file
/// The one blocking HTTP/1.1 client: a kept-alive connection, requests pipelined on it, each answer bounded in time.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::common {

/// One POST of a pipeline; the views must stay valid for the call.
struct PostRequest {
  std::string_view body;                             ///< sent as is, with its Content-Length
  std::string_view content_type = "application/json";  ///< the body's media type
  std::string_view traceparent;                      ///< W3C trace context header; empty = none
  /// `Ringtrace-Clock-Offset` header (the sender's clock estimate of the server); empty = none,
  /// and so is a value that could break the request apart.
  std::string_view clock = {};
};

/// The answer to one request: a transport error, or a status and body.
struct PostResult {
  boost::beast::error_code ec;  ///< set when no response was read (refused, reset, timeout, cancelled)
  unsigned status = 0;          ///< HTTP status (valid when !ec)
  std::string body;             ///< response body, for logging refusals (valid when !ec)
  std::chrono::steady_clock::duration elapsed{};  ///< from sending to this answer (valid when !ec)
  /// Wall clock just before the pipeline was written: t1 of a clock exchange, shared by every
  /// request of the pipeline (conservative: it only widens their intervals).
  Timestamp sent_at{};
  Timestamp answered_at{};  ///< wall clock when this answer was parsed: t4 (valid when !ec)
  std::string captured;     ///< the answer's HttpClientOptions::capture_header, empty when absent (valid when !ec)
};

/// How an HttpClient talks to its server.
struct HttpClientOptions {
  /// The first answer must come within this of the call (connect included), each later one within this of the previous.
  std::chrono::milliseconds timeout{5000};
  /// User-Agent header, so the server's logs tell the callers apart.
  std::string user_agent = "ringtrace";
  /// Prefix of the client's own log lines ("ms3", "tracing").
  std::string log_name = "http";
  /// Sends a pipeline again when the kept-alive connection it was written to turns out closed;
  /// the server may have processed it, so at-most-once callers turn it off.
  bool resend_on_stale = true;
  /// Further headers sent on every request, as name and value (e.g. MS3's `Authorization`).
  std::vector<std::pair<std::string, std::string>> headers = {};
  /// Largest response body read; a larger one fails the request (body_limit).
  std::uint64_t max_response_bytes = 64 * 1024;
  /// One answer header to hand back in PostResult::captured (e.g. `Ringtrace-Clock`); empty = none.
  std::string capture_header = {};
};

/// Synchronous interface over async Beast ops run on a private io_context, because blocking Beast
/// calls ignore tcp_stream timeouts. Reconnects as needed; not thread-safe (one caller thread).
class HttpClient {
 public:
  /// POSTs to `endpoint`. `abort` (read from the calling thread every few ms; must outlive the
  /// client) cancels a request in flight, for shutdown. Throws std::invalid_argument for a header
  /// of `options` that could break the request apart (a bad name, a line break in a value).
  HttpClient(Endpoint endpoint, HttpClientOptions options, const std::atomic<bool>& abort);

  /// POSTs one request; see post_all().
  PostResult post(const PostRequest& request);

  /// GETs `target` (path and query, on the endpoint's host and port), for a query API; safe to
  /// repeat, so a stale kept-alive connection is always tried once more.
  PostResult get(std::string_view target);

  /// HTTP/1.1 pipelining: writes every request at once, then reads the answers in order, so one
  /// round trip serves them all. One result per request, in order; a transport error fails the
  /// request it hit and every later one, which the server may or may not have processed. A
  /// kept-alive connection the server closed meanwhile is noticed before sending and replaced;
  /// one that closes under the requests is tried once more at once when `resend_on_stale`.
  std::vector<PostResult> post_all(const std::vector<PostRequest>& requests);

  /// Drops the connection (the next post reconnects).
  void close();

  /// Where it posts, as a URL (for logs and span attributes).
  [[nodiscard]] std::string url() const { return "http://" + endpoint_.host + ":" + endpoint_.port + endpoint_.target; }

 private:
  /// One try of the whole pipeline on the current (or a new) connection.
  void attempt(const std::vector<PostRequest>& requests, std::vector<PostResult>& results);
  /// Appends the request line and headers of `request` to heads_.
  void serialize_head(const PostRequest& request);
  boost::beast::error_code connect(std::chrono::steady_clock::time_point deadline);
  /// Runs the io_context until its work is done, cancelling on abort or once `deadline` is well past.
  void run_ops(std::chrono::steady_clock::time_point deadline);
  /// True when the idle kept-alive connection was closed by the server (or has unexpected bytes).
  bool peer_closed();

  Endpoint endpoint_;
  HttpClientOptions options_;
  const std::atomic<bool>& abort_;
  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::resolver resolver_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string fixed_headers_;  ///< Host, User-Agent and the options' header lines, built once
  std::string heads_;          ///< the pipeline's request heads, reused so steady state allocates nothing
  std::vector<std::size_t> head_ends_;                 ///< where each request's head ends in heads_
  std::vector<boost::asio::const_buffer> buffers_;     ///< heads and bodies, written in one gather
  bool connected_ = false;
  std::string_view get_target_;  ///< set during get(): the pipeline is that one GET
};

}  // namespace ringtrace::common
