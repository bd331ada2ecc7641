#include "ringtrace/ms3/http_poster.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <functional>
#include <optional>

#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace ringtrace::ms3 {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

/// How often a running request looks at the abort flag.
constexpr std::chrono::milliseconds kAbortCheck{20};

/// Errors meaning a kept-alive connection was closed by the server while idle: worth one immediate retry.
bool is_stale_connection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::connection_aborted;
}

}  // namespace

HttpPoster::HttpPoster(common::Endpoint endpoint, std::chrono::milliseconds timeout, const std::atomic<bool>& abort,
                       bool resend_on_stale)
    : endpoint_(std::move(endpoint)),
      timeout_(timeout),
      abort_(abort),
      resend_on_stale_(resend_on_stale),
      resolver_(ioc_),
      stream_(ioc_),
      host_header_("Host: " + endpoint_.host + ":" + endpoint_.port +
                   "\r\nUser-Agent: ringtrace-ms3\r\nContent-Type: application/json\r\n") {}

bool HttpPoster::peer_closed() {
  // One non-blocking peek, a single syscall per batch: an idle connection has nothing to read,
  // so anything else (EOF, reset, stray bytes) ends it.
  char byte = 0;
  const auto n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

void HttpPoster::serialize(const PostRequest& request) {
  out_ += "POST ";
  out_ += endpoint_.target;
  out_ += " HTTP/1.1\r\n";
  out_ += host_header_;
  // Our own spans' context, but a header must never carry a line break whatever it came from.
  const bool header_safe = std::all_of(request.traceparent.begin(), request.traceparent.end(),
                                       [](char c) { return c > 0x20 && c < 0x7f; });
  if (!request.traceparent.empty() && header_safe) {
    out_ += "traceparent: ";
    out_ += request.traceparent;
    out_ += "\r\n";
  }
  char length[24];
  const auto end = std::to_chars(std::begin(length), std::end(length), request.body.size()).ptr;
  out_ += "Content-Length: ";
  out_.append(length, end);
  out_ += "\r\n\r\n";
  out_ += request.body;
}

void HttpPoster::run_ops() {
  ioc_.restart();
  bool cancelled = false;
  while (!ioc_.stopped()) {
    ioc_.run_for(kAbortCheck);
    if (!cancelled && abort_.load(std::memory_order_relaxed)) {
      cancelled = true;
      resolver_.cancel();
      stream_.cancel();
    }
  }
}

beast::error_code HttpPoster::connect(Clock::time_point deadline) {
  beast::error_code result;
  net::ip::tcp::resolver::results_type endpoints;
  resolver_.async_resolve(endpoint_.host, endpoint_.port,
                          [&](const beast::error_code& ec, net::ip::tcp::resolver::results_type found) {
                            result = ec;
                            endpoints = std::move(found);
                          });
  run_ops();
  if (result) return result;
  stream_.expires_at(deadline);
  stream_.async_connect(endpoints, [&](const beast::error_code& ec, const net::ip::tcp::endpoint&) { result = ec; });
  run_ops();
  if (result) return result;
  stream_.socket().set_option(net::ip::tcp::no_delay(true), result);
  connected_ = !result;
  buffer_.clear();
  return result;
}

void HttpPoster::attempt(const std::vector<PostRequest>& requests, std::vector<PostResult>& results) {
  results.assign(requests.size(), PostResult{});
  const auto fail_from = [&](std::size_t first, const beast::error_code& ec) {
    for (std::size_t i = first; i < results.size(); ++i) results[i].ec = ec;
  };
  const auto sent = Clock::now();
  if (!connected_) {
    if (auto ec = connect(sent + timeout_)) {
      fail_from(0, ec);
      close();
      return;
    }
  }
  out_.clear();
  for (const auto& request : requests) serialize(request);

  // Full duplex: answers are read while the rest of the pipeline is still being written, so a
  // server that answers early never waits on a client that is not reading yet.
  beast::error_code write_ec;
  bool must_close = false;
  std::size_t answered = 0;
  stream_.expires_after(timeout_);
  net::async_write(stream_, net::buffer(out_), [&](const beast::error_code& ec, std::size_t) {
    if (!ec) return;
    write_ec = ec;
    stream_.cancel();  // the read of an answer that can no longer come
  });
  std::optional<http::response_parser<http::string_body>> parser;
  std::function<void()> read_next = [&] {
    parser.emplace();
    parser->body_limit(kMaxResponseBytes);
    stream_.expires_after(timeout_);
    http::async_read(stream_, buffer_, *parser, [&](const beast::error_code& ec, std::size_t) {
      if (ec) {
        fail_from(answered, write_ec && ec == net::error::operation_aborted ? write_ec : ec);
        must_close = true;
        return;
      }
      auto response = parser->release();
      auto& result = results[answered++];
      result.status = response.result_int();
      result.body = std::move(response.body());
      result.elapsed = Clock::now() - sent;
      if (!response.keep_alive()) {
        // The server closes after this answer and ignores what was pipelined behind it.
        fail_from(answered, http::error::end_of_stream);
        must_close = true;
        return;
      }
      if (answered < results.size()) read_next();
    });
  };
  read_next();
  run_ops();
  if (must_close || write_ec) close();
}

PostResult HttpPoster::post(std::string_view body, std::string_view traceparent) {
  return std::move(post_all({PostRequest{body, traceparent}}).front());
}

std::vector<PostResult> HttpPoster::post_all(const std::vector<PostRequest>& requests) {
  std::vector<PostResult> results;
  if (requests.empty()) return results;
  if (connected_ && peer_closed()) close();  // MS1 dropped the idle connection: reconnect before sending
  const bool reused = connected_;
  attempt(requests, results);
  if (reused && resend_on_stale_ && results.front().ec && is_stale_connection(results.front().ec) && !abort_.load()) {
    spdlog::debug("ms3: kept-alive connection to {}:{} was closed ({}); reconnecting", endpoint_.host, endpoint_.port,
                  results.front().ec.message());
    attempt(requests, results);
  }
  return results;
}

void HttpPoster::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  buffer_.clear();
  connected_ = false;
}

}  // namespace ringtrace::ms3
