#include "ringtrace/ms2/http_session.hpp"

#include <string>

#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket.hpp>

#include "ringtrace/ms2/fail.hpp"
#include "ringtrace/ms2/ws_session.hpp"

namespace ringtrace::ms2 {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

HttpSession::HttpSession(net::ip::tcp::socket&& socket, SessionContext& context)
    : stream_(std::move(socket)), context_(context) {}

void HttpSession::run() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->body_limit(kMaxBodyBytes);
  stream_.expires_after(kRequestTimeout);
  http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec == http::error::end_of_stream) {
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    return;
  }
  if (ec) return detail::fail(ec, "http read");

  const auto& request = parser_->get();
  std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != context_.config.ms2.path) {
    return do_refuse(http::status::not_found, "no such path; the WebSocket endpoint is " + context_.config.ms2.path);
  }
  if (!beast::websocket::is_upgrade(request)) {
    return do_refuse(http::status::bad_request, "expected a WebSocket upgrade");
  }
  std::make_shared<WsSession>(stream_.release_socket(), context_)->run(parser_->release());
}

void HttpSession::do_refuse(http::status status, std::string_view why) {
  response_ = {status, parser_->get().version()};
  response_.set(http::field::server, "ringtrace-ms2");
  response_.set(http::field::content_type, "text/plain");
  response_.keep_alive(false);
  response_.body() = std::string(why) + "\n";
  response_.prepare_payload();
  http::async_write(stream_, response_, beast::bind_front_handler(&HttpSession::on_write, shared_from_this()));
}

void HttpSession::on_write(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) return detail::fail(ec, "http write");
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace ringtrace::ms2
