#pragma once
/// @file
/// MS2's WebSocket port: common's HTTP listener with an upgrade route to WsSession.

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "ringtrace/common/auth.hpp"
#include "ringtrace/common/http_listener.hpp"
#include "ringtrace/ms2/session_context.hpp"

namespace ringtrace::ms2 {

/// Upgrades on ms2.path become WsSessions; any other request is refused (404 elsewhere, 400 for a
/// plain request on the path), so a misdirected client learns why. When `security.token` is set,
/// an upgrade without it, or with another, gets 401 before any WebSocket exists. Owned by Ms2Service.
class WsPort final : public common::RequestHandler {
 public:
  /// Time allowed for a client to send its upgrade request.
  static constexpr std::chrono::seconds kRequestTimeout{10};
  /// Largest request body accepted (upgrades have none).
  static constexpr std::size_t kMaxBodyBytes = 4096;

  /// Binds `endpoint` (throws common::BindError) and starts accepting; `context` must outlive the io_context's handlers.
  WsPort(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint, SessionContext& context);
  WsPort(const WsPort&) = delete;
  WsPort& operator=(const WsPort&) = delete;
  ~WsPort() override;

  /// Stops accepting; connections already accepted live on.
  void stop();
  /// Where it listens (the real port when configured with port 0).
  [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;
  /// Answers a request that is not an upgrade on the path.
  void handle(common::HttpRequest&& request, common::Responder respond) override;

 private:
  /// Writes `response` on the socket of a refused upgrade, then closes it.
  static void refuse(boost::asio::ip::tcp::socket&& socket, common::HttpResponse response);

  SessionContext& context_;
  std::shared_ptr<common::HttpListener> listener_;
};

}  // namespace ringtrace::ms2
