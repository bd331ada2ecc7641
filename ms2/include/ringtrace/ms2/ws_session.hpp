#pragma once
/// @file
/// One MS1 → MS2 WebSocket connection.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "ringtrace/common/clock_offset.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms2/record_sink.hpp"
#include "ringtrace/ms2/session_context.hpp"

namespace ringtrace::ms2 {

/// Reads text frames on its socket's executor and hands each to the sink; a bad frame is logged and
/// counted and the next one is read as usual. While the sink is full, the refused record waits here
/// and no further frame is read (TCP backpressure reaches MS1) until the sink has room again; the
/// event loop itself never waits. A ping carrying a clock probe (`RTC1 <seq> <t1>`) gets, beside
/// Beast's echo, a pong stamped with MS2's clock; control frames never reach the message path. A
/// peer silent for `ms2.ws_idle_timeout_ms` (pinged at half) ends the session. Owns itself
/// through shared_from_this.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  /// Takes over a socket whose upgrade request has already been read.
  WsSession(boost::asio::ip::tcp::socket&& socket, SessionContext& context);
  /// Leaves the registry, which may end a graceful shutdown.
  ~WsSession();

  /// Completes the upgrade for `request` and starts reading.
  void run(boost::beast::http::request<boost::beast::http::string_body> request);
  /// Sends a close frame (going away); thread-safe, the session ends once the peer answers or times out.
  void close();
  /// True while reads are paused for a full sink (for tests; on the session's executor).
  [[nodiscard]] bool paused() const { return pending_.has_value(); }

 private:
  /// A record the sink refused as full, with its open `kafka produce` span.
  struct Pending {
    Record record;
    /// Shared with the delivery callback (copyable, as std::function wants); null when not tracing.
    std::shared_ptr<common::tracing::Span> span;
  };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_close(boost::beast::error_code ec);
  void handle_frame();
  void do_produce(Pending pending);
  void on_writable();
  /// Runs inside the read for every ping and pong: stamps t2 of a probe and posts its reply.
  void on_control(boost::beast::websocket::frame_type kind, std::string_view payload);
  /// Stamps t3 and sends the probe's reply as an unsolicited pong, unless one is being written.
  void do_clock_reply(const common::ClockProbe& probe, common::Timestamp t2);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  SessionContext& context_;
  std::string peer_;
  std::optional<Pending> pending_;  ///< set while reads are paused
  bool closing_ = false;
  bool reply_in_flight_ = false;  ///< a clock reply's pong is being written
  std::string reply_;             ///< its payload
};

}  // namespace ringtrace::ms2
