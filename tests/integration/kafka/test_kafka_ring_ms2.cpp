/// @file
/// MS2's producer and WebSocket server against a real Kafka broker: frames from a WebSocket client
/// reach the topic, delivery reports, refused paths and oversized frames.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "kafka_ring_fixture.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms2/frame_processor.hpp"
#include "ringtrace/ms2/kafka_producer.hpp"
#include "ringtrace/ms2/ms2_service.hpp"

namespace ringtrace::kafka_ring {
namespace {

using common::Hop;
using common::Naming;

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using net::ip::tcp;

/// Runs an Ms2Service (started, on an ephemeral port) on its own thread.
class Ms2Runner {
 public:
  explicit Ms2Runner(const common::Config& config) : service_(config) {
    service_.start();
    thread_ = std::thread([this] { service_.run(); });
  }
  ~Ms2Runner() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      service_.stop();
      thread_.join();
    }
  }
  std::uint16_t port() const { return service_.port(); }
  const ms2::Counters& counters() const { return service_.counters(); }

 private:
  ms2::Ms2Service service_;
  std::thread thread_;
};

// MS2 end to end: garbage frames are dropped, the good frame on the same connection reaches the topic with t2.
TEST_F(KafkaRing, Ms2WebSocketToTopic) {
  Ms2Runner ms2(config_);
  ASSERT_NE(ms2.port(), 0);

  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ms2.port()));
  ws.handshake("127.0.0.1", config_.ms2.path);

  ws.text(true);
  ws.write(net::buffer(std::string("this is not json")));
  ws.binary(true);
  ws.write(net::buffer(std::string("\x01\x02\x03", 3)));
  ws.text(true);
  const auto good = ms1_frame(11, 1);
  ws.write(net::buffer(good));

  auto records = read_topic(1);
  ASSERT_EQ(records.size(), 1u);
  const auto& record = records.front();
  EXPECT_EQ(record.key, "11");
  auto decoded = common::decode(record.payload, Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.message->id, 1);
  EXPECT_TRUE(decoded.message->at(Hop::kMs2).has_value());
  EXPECT_EQ(decoded.message->at(Hop::kMs1), common::decode(good, Naming::kService).message->at(Hop::kMs1));

  EXPECT_EQ(ms2.counters().frames_received.load(), 3u);
  EXPECT_EQ(ms2.counters().frames_rejected.load(), 2u);
  EXPECT_TRUE(eventually([&] { return ms2.counters().produced.load() == 1; }));

  // Shutdown closes the WebSocket with a close frame ("going away").
  std::thread stopper([&] { ms2.stop(); });
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  stopper.join();
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws.reason().code, websocket::close_code::going_away);
}

// Every queued record's callback runs once, after the broker acknowledged it.
TEST_F(KafkaRing, ProducerReportsEachDeliveryOnce) {
  std::atomic<int> delivered{0};
  std::atomic<int> failed{0};
  for (int id = 1; id <= 3; ++id) {
    auto result = ms2::process_frame(ms1_frame(12, id), true, config_.message.naming, common::now_utc());
    ASSERT_EQ(producer_->produce({"12", result.payload, {}},
                                 [&](const ms2::DeliveryReport& report) { ++(report.ok ? delivered : failed); }),
              ms2::ProduceOutcome::kQueued);
  }
  EXPECT_TRUE(eventually([&] { return delivered.load() == 3; })) << delivered.load();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(producer_counters_.produced.load(), 3u);
  EXPECT_EQ(read_topic(3).size(), 3u);
}

// MS2 refuses upgrades on other paths with 404, and still serves the right one afterwards.
TEST_F(KafkaRing, Ms2RefusesOtherPaths) {
  Ms2Runner ms2(config_);
  net::io_context ioc;
  {
    websocket::stream<tcp::socket> ws(ioc);
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ms2.port()));
    websocket::response_type response;
    beast::error_code ec;
    ws.handshake(response, "127.0.0.1", "/elsewhere", ec);
    EXPECT_EQ(ec, websocket::error::upgrade_declined) << ec.message();
    EXPECT_EQ(response.result(), beast::http::status::not_found);
  }
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ms2.port()));
  beast::error_code ec;
  ws.handshake("127.0.0.1", config_.ms2.path, ec);
  EXPECT_FALSE(ec) << ec.message();
}

// With security.token set, an upgrade without it (or with another) gets 401 before any WebSocket
// exists; with it the session works as usual.
TEST_F(KafkaRing, Ms2RefusesAnUpgradeWithoutTheToken) {
  config_.security.token = "kafka-ring-s3cret";
  Ms2Runner ms2(config_);
  net::io_context ioc;
  const auto upgrade = [&](websocket::stream<tcp::socket>& ws, const std::string& authorization,
                           websocket::response_type& response) {
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ms2.port()));
    if (!authorization.empty()) {
      ws.set_option(websocket::stream_base::decorator([authorization](websocket::request_type& request) {
        request.set(beast::http::field::authorization, authorization);
      }));
    }
    beast::error_code ec;
    ws.handshake(response, "127.0.0.1", config_.ms2.path, ec);
    return ec;
  };
  for (const auto& [authorization, body] :
       {std::pair{std::string(), R"({"error":"missing bearer token"})"},
        std::pair{std::string("Bearer not-the-token"), R"({"error":"wrong bearer token"})"}}) {
    websocket::stream<tcp::socket> ws(ioc);
    websocket::response_type response;
    EXPECT_EQ(upgrade(ws, authorization, response), websocket::error::upgrade_declined) << authorization;
    EXPECT_EQ(response.result(), beast::http::status::unauthorized) << authorization;
    EXPECT_EQ(response[beast::http::field::www_authenticate], "Bearer");
    EXPECT_EQ(response.body(), body);
  }
  EXPECT_EQ(ms2.counters().upgrades_unauthorized.load(), 2u);

  websocket::stream<tcp::socket> ws(ioc);
  websocket::response_type response;
  ASSERT_FALSE(upgrade(ws, "Bearer kafka-ring-s3cret", response)) << response.body();
  ws.text(true);
  ws.write(net::buffer(ms1_frame(13, 1)));
  auto records = read_topic(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records.front().key, "13");
  EXPECT_EQ(ms2.counters().upgrades_unauthorized.load(), 2u);
}

// A frame over ms2.max_frame_bytes closes the connection with 1009; the service keeps serving.
TEST_F(KafkaRing, Ms2ClosesOnOversizedFrame) {
  config_.ms2.max_frame_bytes = 1024;
  Ms2Runner ms2(config_);
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ms2.port()));
  ws.handshake("127.0.0.1", config_.ms2.path);
  ws.write(net::buffer(std::string(4096, 'x')));
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  // Beast sends the close frame and tears down at once, so our own close reply may hit a dead socket
  // (ENOTCONN) instead of ending cleanly; what matters is the 1009 we were told.
  EXPECT_TRUE(ec) << "connection should have ended";
  EXPECT_EQ(ws.reason().code, websocket::close_code::too_big) << ec.message();

  websocket::stream<tcp::socket> again(ioc);
  again.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), ms2.port()));
  again.handshake("127.0.0.1", config_.ms2.path, ec);
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
}  // namespace ringtrace::kafka_ring
