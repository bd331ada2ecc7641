#include "ringtrace/common/http_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

namespace ringtrace::common {

namespace beast = boost::beast;
namespace http = boost::beast::http;

HttpResponse json_response(http::status status, std::string body) {
  HttpResponse response{status, 11};
  response.set(http::field::server, "ringtrace");
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  return response;
}

HttpResponse error_json(http::status status, std::string_view reason) {
  return json_response(status, boost::json::serialize(boost::json::object{{"error", reason}}));
}

HttpSession::HttpSession(boost::asio::ip::tcp::socket&& socket, RequestHandler& handler, HttpLimits limits)
    : stream_(std::move(socket)), handler_(handler), limits_(limits) {}

void HttpSession::run() {
  boost::asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->body_limit(limits_.max_body_bytes);
  parser_->header_limit(16 * 1024);
  stream_.expires_after(limits_.read_timeout);
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == boost::asio::error::connection_reset ||
      ec == boost::asio::error::operation_aborted) {
    return do_close();
  }
  if (ec == http::error::body_limit) {
    return send(error_json(http::status::payload_too_large,
                           "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes"),
                false);
  }
  if (ec) {
    spdlog::debug("http: bad request from client: {}", ec.message());
    return send(error_json(http::status::bad_request, "malformed HTTP request: " + ec.message()), false);
  }
  stream_.expires_never();  // the handler may take a while (database); no read is pending meanwhile
  HttpRequest request = parser_->release();
  const bool keep_alive = request.keep_alive();
  const unsigned version = request.version();
  auto responded = std::make_shared<bool>(false);
  handler_.handle(std::move(request), [self = shared_from_this(), keep_alive, version, responded](HttpResponse response) {
    if (*responded) return;
    *responded = true;
    response.version(version);
    self->send(std::move(response), keep_alive);
  });
}

void HttpSession::send(HttpResponse response, bool keep_alive) {
  response.keep_alive(keep_alive);
  response.prepare_payload();
  pending_ = std::make_shared<HttpResponse>(std::move(response));
  stream_.expires_after(limits_.read_timeout);
  http::async_write(stream_, *pending_, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t n) {
    self->on_write(keep_alive, ec, n);
  });
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  pending_.reset();
  if (ec) return do_close();
  if (!keep_alive) return do_close();
  do_read();
}

void HttpSession::do_close() {
  beast::error_code ignored;
  stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

}  // namespace ringtrace::common
