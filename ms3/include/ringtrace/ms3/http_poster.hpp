#pragma once
/// @file
/// MS3's HTTP client: one kept-alive connection to MS1, requests pipelined on it, each bounded in time.

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "ringtrace/common/endpoint.hpp"

namespace ringtrace::ms3 {

/// The answer to one POST: a transport error, or a status and body.
struct PostResult {
  boost::beast::error_code ec;  ///< set when no response was read (refused, reset, timeout, cancelled)
  unsigned status = 0;          ///< HTTP status (valid when !ec)
  std::string body;             ///< response body, for logging refusals (valid when !ec)
  std::chrono::steady_clock::duration elapsed{};  ///< from sending to this answer (valid when !ec)
};

/// One request of a pipeline; the views must stay valid for the call.
struct PostRequest {
  std::string_view body;         ///< JSON sent as application/json
  std::string_view traceparent;  ///< W3C trace context header; empty = none
};

/// Synchronous interface over async Beast ops run on a private io_context, because blocking Beast
/// calls ignore tcp_stream timeouts. Reconnects as needed; not thread-safe (one caller thread).
class HttpPoster {
 public:
  /// Largest response body read; MS1 answers short JSON.
  static constexpr std::uint64_t kMaxResponseBytes = 64 * 1024;

  /// Posts to `endpoint`; each post() gets `timeout` in all (connect included). `abort` (read
  /// from the calling thread every few ms) cancels a request in flight, for shutdown.
  /// `resend_on_stale` allows sending a request again when the kept-alive connection it was
  /// written to turns out closed: the server may have processed it, so at-most-once turns it off.
  HttpPoster(common::Endpoint endpoint, std::chrono::milliseconds timeout, const std::atomic<bool>& abort,
             bool resend_on_stale = true);

  /// POSTs `body` as application/json. A kept-alive connection the server has closed meanwhile is
  /// noticed before sending and replaced; one that closes under the request is retried at once
  /// when `resend_on_stale`.
  PostResult post(std::string_view body, std::string_view traceparent = {});

  /// HTTP/1.1 pipelining: writes every request at once, then reads the answers in order, so one
  /// round trip (and one batch in MS1's database writer) serves them all. One result per request,
  /// in order; a transport error fails the request it hit and every later one, which the server
  /// may or may not have processed. Each answer gets `timeout` from the previous one.
  std::vector<PostResult> post_all(const std::vector<PostRequest>& requests);

  /// Drops the connection (the next post reconnects).
  void close();

  /// Where it posts, as a URL (for span attributes).
  [[nodiscard]] std::string url() const { return "http://" + endpoint_.host + ":" + endpoint_.port + endpoint_.target; }

 private:
  /// One try of the whole pipeline on the current (or a new) connection.
  void attempt(const std::vector<PostRequest>& requests, std::vector<PostResult>& results);
  /// Appends the HTTP/1.1 request for `request` to out_.
  void serialize(const PostRequest& request);
  boost::beast::error_code connect(std::chrono::steady_clock::time_point deadline);
  void run_ops();
  /// True when the idle kept-alive connection was closed by the server (or has unexpected bytes).
  bool peer_closed();

  common::Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>& abort_;
  bool resend_on_stale_;
  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::resolver resolver_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string host_header_;  ///< "Host: …" line, built once
  std::string out_;          ///< the serialized pipeline, reused so steady state allocates nothing
  bool connected_ = false;
};

}  // namespace ringtrace::ms3
