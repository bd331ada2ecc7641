#include "ringtrace/ms3/http_poster.hpp"

#include <optional>

#include <boost/asio/error.hpp>
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
      stream_(ioc_) {}

bool HttpPoster::peer_closed() {
  auto& socket = stream_.socket();
  beast::error_code ec;
  socket.non_blocking(true, ec);
  if (ec) return true;
  char byte = 0;
  socket.receive(net::buffer(&byte, 1), net::socket_base::message_peek, ec);
  beast::error_code ignored;
  socket.non_blocking(false, ignored);
  // An idle connection has nothing to read: anything else (EOF, reset, stray bytes) ends it.
  return ec != net::error::would_block;
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

PostResult HttpPoster::attempt(std::string_view body, std::string_view traceparent) {
  PostResult result;
  const auto deadline = Clock::now() + timeout_;
  if (!connected_) {
    if ((result.ec = connect(deadline))) {
      close();
      return result;
    }
  }

  http::request<http::string_body> request{http::verb::post, endpoint_.target, 11};
  request.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
  request.set(http::field::user_agent, "ringtrace-ms3");
  request.set(http::field::content_type, "application/json");
  if (!traceparent.empty()) request.set("traceparent", traceparent);
  request.keep_alive(true);
  request.body() = std::string(body);
  request.prepare_payload();

  stream_.expires_at(deadline);
  http::async_write(stream_, request, [&](const beast::error_code& ec, std::size_t) { result.ec = ec; });
  run_ops();
  if (result.ec) {
    close();
    return result;
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  http::async_read(stream_, buffer_, parser, [&](const beast::error_code& ec, std::size_t) { result.ec = ec; });
  run_ops();
  if (result.ec) {
    close();
    return result;
  }
  auto response = parser.release();
  result.status = response.result_int();
  result.body = std::move(response.body());
  if (!response.keep_alive()) {
    close();
  }
  return result;
}

PostResult HttpPoster::post(std::string_view body, std::string_view traceparent) {
  if (connected_ && peer_closed()) close();  // MS1 dropped the idle connection: reconnect before sending
  const bool reused = connected_;
  auto result = attempt(body, traceparent);
  if (reused && resend_on_stale_ && result.ec && is_stale_connection(result.ec) && !abort_.load()) {
    spdlog::debug("ms3: kept-alive connection to {}:{} was closed ({}); reconnecting", endpoint_.host, endpoint_.port,
                  result.ec.message());
    result = attempt(body, traceparent);
  }
  return result;
}

void HttpPoster::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  buffer_.clear();
  connected_ = false;
}

}  // namespace ringtrace::ms3
