#include "ringtrace/ms1/ring/ws_client.hpp"

#include <iterator>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms1 {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

namespace {
constexpr auto kConnectTimeout = std::chrono::seconds(5);
/// How long stop() waits for MS2 to answer the close frame before dropping the connection.
constexpr auto kCloseTimeout = std::chrono::seconds(2);
/// Spacing of the probes of the post-handshake burst.
constexpr auto kBurstSpacing = std::chrono::milliseconds(50);
}  // namespace

WsClient::WsClient(boost::asio::io_context& ioc, common::Endpoint endpoint, common::Backoff backoff,
                   std::string authorization, WsClientOptions options)
    : ioc_(ioc),
      endpoint_(std::move(endpoint)),
      backoff_(backoff),
      authorization_(std::move(authorization)),
      resolver_(ioc),
      retry_timer_(ioc),
      close_timer_(ioc),
      clock_timer_(ioc),
      options_(options) {}

void WsClient::start(WsLinkListener& listener) {
  listener_ = &listener;
  do_resolve();
}

void WsClient::stop() {
  stopping_ = true;
  retry_timer_.cancel();
  clock_timer_.cancel();
  resolver_.cancel();
  // A write in flight still reads its frame: only the frames behind it go.
  outbox_.erase(writing_ && !outbox_.empty() ? std::next(outbox_.begin()) : outbox_.begin(), outbox_.end());
  if (ws_ && connected_) {
    connected_ = false;
    // Its own timer bounds the close: the stream's expiry may not be set while a read and a write
    // are both pending, as they are whenever MS2 is slow to take a frame.
    close_timer_.expires_after(kCloseTimeout);
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->ws_) beast::get_lowest_layer(*self->ws_).close();
    });
    ws_->async_close(websocket::close_code::going_away, [self = shared_from_this()](beast::error_code) {
      self->close_timer_.cancel();
      if (self->ws_) beast::get_lowest_layer(*self->ws_).close();
    });
  } else if (ws_) {
    beast::get_lowest_layer(*ws_).close();
  }
}

bool WsClient::send(std::string text) {
  if (!connected_) return false;
  outbox_.push_back(std::move(text));
  if (!writing_) do_write();
  return true;
}

void WsClient::do_resolve() {
  if (stopping_) return;
  resolver_.async_resolve(endpoint_.host, endpoint_.port,
                          [self = shared_from_this(), gen = generation_](beast::error_code ec, tcp::resolver::results_type r) {
                            if (gen == self->generation_) self->on_resolve(ec, std::move(r));
                          });
}

void WsClient::on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
  if (ec) return fail(ec, "resolve");
  ws_.emplace(ioc_);
  beast::get_lowest_layer(*ws_).expires_after(kConnectTimeout);
  beast::get_lowest_layer(*ws_).async_connect(
      results, [self = shared_from_this(), gen = generation_](beast::error_code ec, const tcp::endpoint&) {
        if (gen == self->generation_) self->on_connect(ec);
      });
}

void WsClient::on_connect(beast::error_code ec) {
  if (ec) return fail(ec, "connect");
  auto& stream = beast::get_lowest_layer(*ws_);
  stream.socket().set_option(tcp::no_delay(true));  // one small frame per message: Nagle would add latency
  stream.expires_never();
  // Beast pings at half the idle timeout when nothing came in, and fails the read when nothing
  // came in for the other half too: a silent MS2 is noticed within the idle timeout, not TCP's minutes.
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = kConnectTimeout;
  timeouts.idle_timeout = options_.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_->set_option(timeouts);
  // The stream holds the callback: `this` (not a shared pointer, which would keep the client alive
  // through its own member) is safe because it only runs inside a read, whose handler holds the client.
  ws_->control_callback([this, gen = generation_](websocket::frame_type kind, beast::string_view payload) {
    if (gen == generation_) on_control(kind, std::string_view(payload.data(), payload.size()));
  });
  ws_->set_option(websocket::stream_base::decorator([authorization = authorization_](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "ringtrace-ms1");
    if (!authorization.empty()) req.set(beast::http::field::authorization, authorization);
  }));
  ws_->text(true);
  handshake_response_ = {};
  ws_->async_handshake(handshake_response_, endpoint_.host + ":" + endpoint_.port, endpoint_.target,
                       [self = shared_from_this(), gen = generation_](beast::error_code ec) {
                         if (gen == self->generation_) self->on_handshake(ec);
                       });
}

void WsClient::on_handshake(beast::error_code ec) {
  if (ec == websocket::error::upgrade_declined && handshake_response_.result() == beast::http::status::unauthorized) {
    return fail(ec, "handshake (MS2 answered 401: check security.token)");
  }
  if (ec) return fail(ec, "handshake");
  connected_ = true;
  logged_down_ = false;
  ++connects_;
  backoff_.reset();
  spdlog::info("connected to MS2 at ws://{}:{}{}", endpoint_.host, endpoint_.port, endpoint_.target);
  do_read();
  if (options_.probe_interval.count() > 0) {
    burst_left_ = kProbeBurst;
    schedule_probe(std::chrono::milliseconds(0));
  }
  listener_->on_link_up();
}

void WsClient::schedule_probe(std::chrono::milliseconds delay) {
  clock_timer_.expires_after(delay);
  clock_timer_.async_wait([self = shared_from_this(), gen = generation_](beast::error_code ec) {
    if (!ec && gen == self->generation_) self->do_probe();
  });
}

void WsClient::do_probe() {
  if (!connected_ || stopping_) return;
  if (!ping_in_flight_) {
    // A probe the peer never answered is simply superseded: its late reply no longer matches.
    awaited_ = common::ClockProbe{++probe_seq_, common::now_utc()};
    ping_in_flight_ = true;
    const auto text = common::format_probe(*awaited_);
    ws_->async_ping(websocket::ping_data(text.c_str(), text.size()),
                    [self = shared_from_this(), gen = generation_](beast::error_code ec) {
                      if (gen != self->generation_) return;
                      self->ping_in_flight_ = false;
                      if (ec) self->fail(ec, "ping");
                    });
  }
  if (burst_left_ > 0) --burst_left_;
  schedule_probe(burst_left_ > 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(kBurstSpacing)
                                 : options_.probe_interval);
}

void WsClient::on_control(websocket::frame_type kind, std::string_view payload) {
  if (kind != websocket::frame_type::pong || !awaited_) return;
  // t4 first: whatever follows must not widen the exchange.
  const auto t4 = common::now_utc();
  const auto reply = common::parse_reply(payload);
  if (!reply || reply->seq != awaited_->seq || reply->t1 != awaited_->t1) return;  // the echo, or a stale reply
  const common::ClockSample sample{awaited_->t1, reply->t2, reply->t3, t4};
  awaited_.reset();
  listener_->on_clock_sample(sample);
}

void WsClient::do_read() {
  ws_->async_read(read_buffer_, [self = shared_from_this(), gen = generation_](beast::error_code ec, std::size_t) {
    if (gen == self->generation_) self->on_read(ec);
  });
}

void WsClient::on_read(beast::error_code ec) {
  if (ec) return fail(ec, "read");
  read_buffer_.consume(read_buffer_.size());  // MS2 sends nothing we act on yet
  do_read();
}

void WsClient::do_write() {
  writing_ = true;
  ws_->async_write(boost::asio::buffer(outbox_.front()),
                   [self = shared_from_this(), gen = generation_](beast::error_code ec, std::size_t) {
                     if (gen == self->generation_) self->on_write(ec);
                   });
}

void WsClient::on_write(beast::error_code ec) {
  writing_ = false;
  if (ec) return fail(ec, "write");
  outbox_.pop_front();
  if (!outbox_.empty() && !stopping_) do_write();
}

void WsClient::fail(beast::error_code ec, const char* what) {
  if (stopping_ || ec == boost::asio::error::operation_aborted) return;
  const bool was_connected = connected_;
  connected_ = false;
  writing_ = false;
  ping_in_flight_ = false;
  awaited_.reset();
  clock_timer_.cancel();
  outbox_.clear();
  ++generation_;  // completions still pending on the old stream are now ignored
  if (ws_) {
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  }
  if (was_connected || !logged_down_) {
    spdlog::warn("MS2 link {} failed: {}; reconnecting", what, ec.message());
    logged_down_ = true;
  } else {
    spdlog::debug("MS2 link {} failed: {}", what, ec.message());
  }
  if (was_connected) listener_->on_link_down();
  schedule_reconnect();
}

void WsClient::schedule_reconnect() {
  if (stopping_) return;
  retry_timer_.expires_after(backoff_.next());
  retry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->do_resolve();
  });
}

}  // namespace ringtrace::ms1
