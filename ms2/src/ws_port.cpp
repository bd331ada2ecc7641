#include "ringtrace/ms2/ws_port.hpp"

#include <memory>
#include <string>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/write.hpp>

#include "ringtrace/ms2/ws_session.hpp"

namespace ringtrace::ms2 {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

WsPort::WsPort(boost::asio::io_context& ioc, const tcp::endpoint& endpoint, SessionContext& context)
    : context_(context) {
  // The token is checked here, on the upgrade request, so a refused client never gets a WebSocket.
  common::UpgradeRoute route{
      context.settings.ms2.path,
      [&context, auth = common::BearerAuth(context.settings.token)](
          tcp::socket&& socket, beast::flat_buffer&&, common::HttpRequest&& request) {
        if (const auto outcome = auth.check(request); outcome != common::AuthOutcome::kOk) {
          context.counters.upgrades_unauthorized.fetch_add(1, std::memory_order_relaxed);
          return refuse(std::move(socket), common::unauthorized_response(outcome));
        }
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

void WsPort::refuse(tcp::socket&& socket, common::HttpResponse response) {
  struct Refusal {
    beast::tcp_stream stream;
    common::HttpResponse response;
  };
  auto refusal = std::make_shared<Refusal>(Refusal{beast::tcp_stream(std::move(socket)), std::move(response)});
  refusal->response.keep_alive(false);
  refusal->response.prepare_payload();
  refusal->stream.expires_after(kRequestTimeout);  // a client that never reads cannot hold the socket
  http::async_write(refusal->stream, refusal->response, [refusal](beast::error_code, std::size_t) {
    beast::error_code ignored;
    refusal->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    refusal->stream.close();
  });
}

void WsPort::handle(common::HttpRequest&& request, common::Responder respond) {
  const std::string_view target = request.target();
  if (target.substr(0, target.find('?')) != context_.settings.ms2.path) {
    return respond(common::error_json(http::status::not_found,
                                      "no such path; the WebSocket endpoint is " + context_.settings.ms2.path));
  }
  respond(common::error_json(http::status::bad_request, "expected a WebSocket upgrade"));
}

}  // namespace ringtrace::ms2
