#include "ringtrace/ms2/ws_port.hpp"

#include <string>

#include "ringtrace/ms2/ws_session.hpp"

namespace ringtrace::ms2 {

namespace http = boost::beast::http;

WsPort::WsPort(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint, SessionContext& context)
    : context_(context) {
  common::UpgradeRoute route{
      context.config.ms2.path,
      [&context](boost::asio::ip::tcp::socket&& socket, boost::beast::flat_buffer&&, common::HttpRequest&& request) {
        // The buffer is empty in practice: a client sends no frame before the 101 answer.
        std::make_shared<WsSession>(std::move(socket), context)->run(std::move(request));
      }};
  listener_ = std::make_shared<common::HttpListener>(
      ioc, endpoint, *this, common::HttpLimits{kMaxBodyBytes, kRequestTimeout}, std::move(route));
  listener_->run();
}

WsPort::~WsPort() { stop(); }

void WsPort::stop() { listener_->stop(); }

boost::asio::ip::tcp::endpoint WsPort::local_endpoint() const { return listener_->local_endpoint(); }

void WsPort::handle(common::HttpRequest&& request, common::Responder respond) {
  const std::string_view target = request.target();
  if (target.substr(0, target.find('?')) != context_.config.ms2.path) {
    return respond(common::error_json(http::status::not_found,
                                      "no such path; the WebSocket endpoint is " + context_.config.ms2.path));
  }
  respond(common::error_json(http::status::bad_request, "expected a WebSocket upgrade"));
}

}  // namespace ringtrace::ms2
