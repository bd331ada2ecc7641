#include "ringtrace/common/http_client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/clock_offset.hpp"

namespace ringtrace::common {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

/// How often a running request looks at the abort flag and the resolve deadline.
constexpr std::chrono::milliseconds kAbortCheck{20};

/// Errors meaning a kept-alive connection was closed by the server while idle: worth one immediate retry.
bool is_stale_connection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::connection_aborted;
}

/// A header value must never carry a line break (or anything else outside visible ASCII), whatever it came from.
bool header_safe(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

/// Host, User-Agent and the caller's headers, checked once: a name is an RFC 9110 token, a value
/// visible ASCII with inner spaces, so no configured value can smuggle a header line in.
std::string fixed_headers(const Endpoint& endpoint, const HttpClientOptions& options) {
  const auto token_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  };
  const auto value_char = [](char c) { return c == ' ' || (c > 0x20 && c < 0x7f); };
  std::string lines = "Host: " + endpoint.host + ":" + endpoint.port + "\r\nUser-Agent: " + options.user_agent + "\r\n";
  for (const auto& [name, value] : options.headers) {
    const bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), token_char);
    const bool value_ok = std::all_of(value.begin(), value.end(), value_char);
    if (!name_ok || !value_ok) throw std::invalid_argument("HttpClient: header '" + name + "' cannot be sent as is");
    lines += name + ": " + value + "\r\n";
  }
  return lines;
}

}  // namespace

HttpClient::HttpClient(Endpoint endpoint, HttpClientOptions options, const std::atomic<bool>& abort)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      abort_(abort),
      resolver_(ioc_),
      stream_(ioc_),
      fixed_headers_(fixed_headers(endpoint_, options_)) {}

bool HttpClient::peer_closed() {
  // One non-blocking peek, a single syscall per batch: an idle connection has nothing to read,
  // so anything else (EOF, reset, stray bytes) ends it.
  char byte = 0;
  const auto n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

void HttpClient::serialize_head(const PostRequest& request) {
  const bool get = !get_target_.empty();
  heads_ += get ? "GET " : "POST ";
  heads_ += get ? get_target_ : std::string_view(endpoint_.target);
  heads_ += " HTTP/1.1\r\n";
  heads_ += fixed_headers_;
  if (get) {
    heads_ += "Accept: application/json\r\n\r\n";
    return;
  }
  if (header_safe(request.content_type)) {
    heads_ += "Content-Type: ";
    heads_ += request.content_type;
    heads_ += "\r\n";
  }
  if (!request.traceparent.empty() && header_safe(request.traceparent)) {
    heads_ += "traceparent: ";
    heads_ += request.traceparent;
    heads_ += "\r\n";
  }
  if (!request.clock.empty() && header_safe(request.clock)) {
    heads_ += kClockOffsetHeader;
    heads_ += ": ";
    heads_ += request.clock;
    heads_ += "\r\n";
  }
  char length[24];
  const auto end = std::to_chars(std::begin(length), std::end(length), request.body.size()).ptr;
  heads_ += "Content-Length: ";
  heads_.append(length, end);
  heads_ += "\r\n\r\n";
}

void HttpClient::run_ops(Clock::time_point deadline) {
  ioc_.restart();
  bool cancelled = false;
  while (!ioc_.stopped()) {
    ioc_.run_for(kAbortCheck);
    // The stream's own timer ends connect, write and read; this also bounds the resolve.
    if (!cancelled && (abort_.load(std::memory_order_relaxed) || Clock::now() - kAbortCheck >= deadline)) {
      cancelled = true;
      resolver_.cancel();
      stream_.cancel();
    }
  }
}

beast::error_code HttpClient::connect(Clock::time_point deadline) {
  beast::error_code result;
  net::ip::tcp::resolver::results_type endpoints;
  resolver_.async_resolve(endpoint_.host, endpoint_.port,
                          [&](const beast::error_code& ec, net::ip::tcp::resolver::results_type found) {
                            result = ec;
                            endpoints = std::move(found);
                          });
  run_ops(deadline);
  if (result == net::error::operation_aborted && !abort_.load()) return beast::error::timeout;
  if (result) return result;
  stream_.expires_at(deadline);
  stream_.async_connect(endpoints, [&](const beast::error_code& ec, const net::ip::tcp::endpoint&) { result = ec; });
  run_ops(Clock::time_point::max());
  if (result) return result;
  stream_.socket().set_option(net::ip::tcp::no_delay(true), result);
  connected_ = !result;
  buffer_.clear();
  return result;
}

void HttpClient::attempt(const std::vector<PostRequest>& requests, std::vector<PostResult>& results) {
  results.assign(requests.size(), PostResult{});
  const auto fail_from = [&](std::size_t first, const beast::error_code& ec) {
    for (std::size_t i = first; i < results.size(); ++i) results[i].ec = ec;
  };
  const auto sent = Clock::now();
  const auto first_deadline = sent + options_.timeout;
  if (!connected_) {
    if (auto ec = connect(first_deadline)) {
      fail_from(0, ec);
      close();
      return;
    }
  }
  // Heads first (the string may grow), then one gather list over heads and the callers' bodies,
  // so a large body is never copied.
  heads_.clear();
  head_ends_.clear();
  for (const auto& request : requests) {
    serialize_head(request);
    head_ends_.push_back(heads_.size());
  }
  buffers_.clear();
  std::size_t begin = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    buffers_.emplace_back(heads_.data() + begin, head_ends_[i] - begin);
    if (!requests[i].body.empty() && get_target_.empty()) buffers_.emplace_back(requests[i].body.data(), requests[i].body.size());
    begin = head_ends_[i];
  }

  // Full duplex: answers are read while the rest of the pipeline is still being written, so a
  // server that answers early never waits on a client that is not reading yet.
  beast::error_code write_ec;
  bool must_close = false;
  std::size_t answered = 0;
  const auto sent_at = now_utc();
  for (auto& result : results) result.sent_at = sent_at;
  stream_.expires_at(first_deadline);
  net::async_write(stream_, buffers_, [&](const beast::error_code& ec, std::size_t) {
    if (!ec) return;
    write_ec = ec;
    stream_.cancel();  // the read of an answer that can no longer come
  });
  std::optional<http::response_parser<http::string_body>> parser;
  std::function<void()> read_next = [&] {
    parser.emplace();
    parser->body_limit(options_.max_response_bytes);
    if (answered > 0) stream_.expires_after(options_.timeout);
    http::async_read(stream_, buffer_, *parser, [&](const beast::error_code& ec, std::size_t) {
      if (ec) {
        fail_from(answered, write_ec && ec == net::error::operation_aborted ? write_ec : ec);
        must_close = true;
        return;
      }
      auto& result = results[answered++];
      result.answered_at = now_utc();  // t4 before anything else
      auto response = parser->release();
      if (!options_.capture_header.empty()) {
        if (const auto found = response.find(options_.capture_header); found != response.end()) {
          result.captured.assign(found->value().data(), found->value().size());
        }
      }
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
  run_ops(Clock::time_point::max());
  if (must_close || write_ec) close();
}

PostResult HttpClient::post(const PostRequest& request) { return std::move(post_all({request}).front()); }

PostResult HttpClient::get(std::string_view target) {
  if (target.empty() || target.front() != '/' || !header_safe(target)) {
    PostResult refused;
    refused.ec = boost::asio::error::invalid_argument;
    return refused;
  }
  get_target_ = target;
  auto result = std::move(post_all({PostRequest{}}).front());
  get_target_ = {};
  return result;
}

std::vector<PostResult> HttpClient::post_all(const std::vector<PostRequest>& requests) {
  std::vector<PostResult> results;
  if (requests.empty()) return results;
  if (connected_ && peer_closed()) close();  // the server dropped the idle connection: reconnect before sending
  const bool reused = connected_;
  attempt(requests, results);
  // A GET changes nothing, so it is always safe to send again.
  const bool resend = options_.resend_on_stale || !get_target_.empty();
  if (reused && resend && results.front().ec && is_stale_connection(results.front().ec) &&
      !abort_.load()) {
    spdlog::debug("{}: kept-alive connection to {}:{} was closed ({}); reconnecting", options_.log_name,
                  endpoint_.host, endpoint_.port, results.front().ec.message());
    attempt(requests, results);
  }
  return results;
}

void HttpClient::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  buffer_.clear();
  connected_ = false;
}

}  // namespace ringtrace::common
