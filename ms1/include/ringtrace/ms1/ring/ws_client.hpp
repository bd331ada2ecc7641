#pragma once
/// @file
/// MS1's WebSocket link to MS2: connects, keeps one write in flight, reconnects with backoff,
/// drops a silent peer within its idle timeout and measures MS2's clock with stamped pings.

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "ringtrace/common/backoff.hpp"
#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/ms1/ring/ms2_link.hpp"

namespace ringtrace::ms1 {

/// How the link watches its peer, from `ms1.ws_idle_timeout_ms` and `ms1.clock_probe_interval_ms`.
struct WsClientOptions {
  /// Nothing received for this long drops the link; a keep-alive ping goes out at half of it, so
  /// a live but quiet MS2 always has something to answer.
  std::chrono::milliseconds idle_timeout{3000};
  /// Clock probes (pings `RTC1 <seq> <t1>`) this far apart, after a burst of kProbeBurst; 0 = none.
  std::chrono::milliseconds probe_interval{1000};
};

/// A reconnecting WebSocket client. Lives on one single-threaded io_context: every method must be
/// called from that thread. Create with std::make_shared (completions keep it alive).
class WsClient final : public Ms2Link, public std::enable_shared_from_this<WsClient> {
 public:
  /// `authorization` (e.g. `Bearer <security.token>`) goes in the handshake's Authorization
  /// header, none when empty. Nothing connects before start().
  WsClient(boost::asio::io_context& ioc, common::Endpoint endpoint, common::Backoff backoff,
           std::string authorization = {}, WsClientOptions options = {});

  /// Probes sent right after each handshake, 50 ms apart, so a fresh link has an estimate at once.
  static constexpr int kProbeBurst = 4;

  /// Begins connecting, telling `listener` (which must outlive the client) when the link comes
  /// up and goes down.
  void start(WsLinkListener& listener);
  /// Closes with a close frame (bounded) and stops reconnecting.
  void stop();
  /// True between handshake and the first error.
  [[nodiscard]] bool connected() const override { return connected_; }
  /// Queues a text frame; false (nothing queued) when not connected.
  bool send(std::string text) override;
  /// Number of successful handshakes so far (a reconnect count for status and tests).
  [[nodiscard]] std::uint64_t connects() const override { return connects_; }
  /// Clock probes sent so far (for tests).
  [[nodiscard]] std::uint64_t probes_sent() const { return probe_seq_; }

 private:
  using Stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  void do_resolve();
  void on_resolve(boost::beast::error_code ec, boost::asio::ip::tcp::resolver::results_type results);
  void on_connect(boost::beast::error_code ec);
  void on_handshake(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec);
  void do_write();
  void on_write(boost::beast::error_code ec);
  void fail(boost::beast::error_code ec, const char* what);
  /// Arms the next clock probe `delay` from now (on this connection only).
  void schedule_probe(std::chrono::milliseconds delay);
  /// Sends one probe unless one is still being written (Beast allows one ping at a time).
  void do_probe();
  /// Runs inside the read operation for every ping and pong: a stamped reply to the probe
  /// awaited becomes a clock sample, anything else (Beast's echo, idle pings) is ignored.
  void on_control(boost::beast::websocket::frame_type kind, std::string_view payload);
  void schedule_reconnect();

  boost::asio::io_context& ioc_;
  common::Endpoint endpoint_;
  common::Backoff backoff_;
  WsLinkListener* listener_ = nullptr;  ///< set by start()
  std::string authorization_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer close_timer_;  ///< bounds stop()'s close handshake
  boost::asio::steady_timer clock_timer_;  ///< paces the clock probes
  WsClientOptions options_;
  std::optional<Stream> ws_;
  boost::beast::websocket::response_type handshake_response_;  ///< MS2's answer, to tell a refused token apart
  boost::beast::flat_buffer read_buffer_;
  std::deque<std::string> outbox_;
  bool connected_ = false;
  bool stopping_ = false;
  bool writing_ = false;
  bool logged_down_ = false;
  std::uint64_t connects_ = 0;
  std::uint64_t generation_ = 0;  ///< bumps on each (re)connect so stale completions are ignored
  bool ping_in_flight_ = false;   ///< a probe's ping is being written
  int burst_left_ = 0;            ///< probes of the post-handshake burst still to send
  std::uint64_t probe_seq_ = 0;   ///< the last probe's sequence number
  std::optional<common::ClockProbe> awaited_;  ///< the probe whose stamped reply is still expected
};

}  // namespace ringtrace::ms1
