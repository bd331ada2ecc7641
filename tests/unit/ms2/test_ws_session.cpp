/// @file
/// MS2's WebSocket port against a fake RecordSink: what a session hands over, when its produce span
/// ends, and how a full sink pauses reading. No broker; loopback sockets only.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "ringtrace/common/clock_offset.hpp"
#include "ringtrace/common/http_listener.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms2/record_sink.hpp"
#include "ringtrace/ms2/session_context.hpp"
#include "ringtrace/ms2/ws_port.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms2 {
namespace {

using namespace std::chrono_literals;
using test::eventually;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

/// Keeps every record and its callback; the test decides when, and how, each is delivered.
class FakeSink final : public RecordSink {
 public:
  ProduceOutcome produce(const Record& record, DeliveryCallback on_delivery) override {
    const std::lock_guard lock(mutex_);
    ++attempts_;
    if (outcome_ != ProduceOutcome::kQueued) return outcome_;
    records_.push_back(record);
    callbacks_.push_back(std::move(on_delivery));
    return ProduceOutcome::kQueued;
  }
  void when_writable(std::function<void()> ready) override {
    const std::lock_guard lock(mutex_);
    writers_.push_back(std::move(ready));
  }
  /// What produce answers from now on.
  void answer(ProduceOutcome outcome) {
    const std::lock_guard lock(mutex_);
    outcome_ = outcome;
  }
  /// Runs record `i`'s callback on this (the test's) thread, as librdkafka's poll thread would.
  void deliver(std::size_t i, DeliveryReport report) {
    DeliveryCallback callback;
    {
      const std::lock_guard lock(mutex_);
      callback = callbacks_.at(i);
    }
    if (callback) callback(report);
  }
  /// Tells every waiting session there is room, as the producer's poll thread does.
  void wake() {
    std::vector<std::function<void()>> ready;
    {
      const std::lock_guard lock(mutex_);
      ready.swap(writers_);
    }
    for (auto& writer : ready) writer();
  }
  /// Forgets the waiting sessions, as the producer's close() does before the event loop goes.
  void forget_writers() {
    const std::lock_guard lock(mutex_);
    writers_.clear();
  }
  std::size_t records() {
    const std::lock_guard lock(mutex_);
    return records_.size();
  }
  Record record(std::size_t i) {
    const std::lock_guard lock(mutex_);
    return records_.at(i);
  }
  std::size_t attempts() {
    const std::lock_guard lock(mutex_);
    return attempts_;
  }
  std::size_t waiting() {
    const std::lock_guard lock(mutex_);
    return writers_.size();
  }

 private:
  std::mutex mutex_;  // produce runs on the server thread, the test reads and delivers from its own
  ProduceOutcome outcome_ = ProduceOutcome::kQueued;
  std::vector<Record> records_;
  std::vector<DeliveryCallback> callbacks_;
  std::vector<std::function<void()>> writers_;
  std::size_t attempts_ = 0;
};

/// Stands in for Jaeger's OTLP/HTTP receiver: keeps every body (JSON protocol) and answers 200.
class Collector final : public common::RequestHandler {
 public:
  void handle(common::HttpRequest&& request, common::Responder respond) override {
    {
      const std::lock_guard lock(mutex_);
      bodies_ += request.body();
    }
    respond(common::json_response(http::status::ok, "{}"));
  }
  bool saw(const std::string& text) {
    const std::lock_guard lock(mutex_);
    return bodies_.find(text) != std::string::npos;
  }

 private:
  std::mutex mutex_;
  std::string bodies_;
};

std::string ms1_frame(std::int64_t session_id, std::int64_t id) {
  common::Message m;
  m.id = id;
  m.session_id = session_id;
  m.at(common::Hop::kMs1) = common::now_utc();
  return common::encode(m, common::Naming::kService);
}

/// A WsPort and a collector on free loopback ports, served by one thread like MS2's event loop.
class WsSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const tcp::endpoint any(net::ip::make_address("127.0.0.1"), 0);
    collector_listener_ = std::make_shared<common::HttpListener>(ioc_, any, collector_, common::HttpLimits{});
    collector_listener_->run();
    config_.tracing.endpoint =
        "http://127.0.0.1:" + std::to_string(collector_listener_->local_endpoint().port()) + "/v1/traces";
    config_.tracing.protocol = common::TracingProtocol::kHttpJson;
    config_.tracing.flush_interval_ms = 20;
    tracer_ = std::make_unique<common::tracing::Tracer>(config_.tracing, "ms2");
    context_ = std::make_unique<SessionContext>(
        SessionContext{WsSettings::from(config_), sink_, counters_, registry_, reject_log_, *tracer_});
    port_ = std::make_unique<WsPort>(ioc_, any, *context_);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    net::post(ioc_, [this] {
      port_->stop();
      collector_listener_->stop();
      registry_.close_all();
    });
    if (ws_) {
      beast::error_code ignored;
      ws_->next_layer().close(ignored);
    }
    ioc_.stop();
    thread_.join();
    sink_.forget_writers();
  }
  /// Opens the WebSocket as MS1 does, with `authorization` in the upgrade (none when empty).
  void connect(const std::string& authorization = {}) {
    ws_ = std::make_unique<websocket::stream<tcp::socket>>(client_ioc_);
    ws_->next_layer().connect(port_->local_endpoint());
    if (!authorization.empty()) {
      ws_->set_option(websocket::stream_base::decorator(
          [authorization](websocket::request_type& request) { request.set(http::field::authorization, authorization); }));
    }
    ws_->handshake("127.0.0.1", config_.ms2.path);
    ws_->text(true);
  }
  void send(const std::string& frame) { ws_->write(net::buffer(frame)); }
  /// True once the collector has a span named `name`; flushes the exporter while it waits.
  bool exported(const std::string& name, std::chrono::milliseconds deadline = test::kDefaultDeadline) {
    return eventually([&] {
      tracer_->flush();
      return collector_.saw("\"name\":\"" + name + "\"");
    }, deadline);
  }

  // Order matters: the sink's callbacks hold spans, so it goes before the tracer; sessions queued in
  // ioc_ use the context and the registry, so ioc_ goes before them.
  common::Config config_;
  Collector collector_;
  Counters counters_;
  SessionRegistry registry_;
  LogThrottle reject_log_{10, std::chrono::seconds(1)};
  std::unique_ptr<common::tracing::Tracer> tracer_;
  FakeSink sink_;
  std::unique_ptr<SessionContext> context_;
  net::io_context ioc_{1};
  std::shared_ptr<common::HttpListener> collector_listener_;
  std::unique_ptr<WsPort> port_;
  std::thread thread_;
  net::io_context client_ioc_;
  std::unique_ptr<websocket::stream<tcp::socket>> ws_;
};

}  // namespace

TEST_F(WsSessionTest, AcceptedFrameBecomesOneRecordKeyedBySession) {
  connect();
  send("not json");
  send(ms1_frame(4, 1));
  ASSERT_TRUE(eventually([&] { return sink_.records() == 1; }));
  const auto record = sink_.record(0);
  EXPECT_EQ(record.key, "4");
  auto decoded = common::decode(record.payload, common::Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_TRUE(decoded.message->at(common::Hop::kMs2).has_value());
  EXPECT_EQ(record.traceparent.size(), 55u) << "the produce span's context rides along: " << record.traceparent;
  EXPECT_EQ(counters_.frames_received.load(), 2u);
  EXPECT_EQ(counters_.frames_rejected.load(), 1u);
}

TEST_F(WsSessionTest, ProduceSpanEndsOnTheBrokersAcknowledgement) {
  connect();
  send(ms1_frame(5, 1));
  ASSERT_TRUE(eventually([&] { return sink_.records() == 1; }));
  ASSERT_TRUE(exported("ws receive"));
  EXPECT_FALSE(collector_.saw("\"name\":\"kafka produce\"")) << "queued is not delivered";
  sink_.deliver(0, DeliveryReport{true, {}});
  EXPECT_TRUE(exported("kafka produce"));
}

TEST_F(WsSessionTest, FailedDeliveryMarksTheSpanAndReadingGoesOn) {
  connect();
  send(ms1_frame(6, 1));
  ASSERT_TRUE(eventually([&] { return sink_.records() == 1; }));
  sink_.deliver(0, DeliveryReport{false, "Local: Message timed out"});
  ASSERT_TRUE(exported("kafka produce"));
  EXPECT_TRUE(collector_.saw("Local: Message timed out"));
  sink_.answer(ProduceOutcome::kFailed);  // refused outright: dropped, the next frame is read as usual
  send(ms1_frame(6, 2));
  ASSERT_TRUE(eventually([&] { return sink_.attempts() == 2; }));
  sink_.answer(ProduceOutcome::kQueued);
  send(ms1_frame(6, 3));
  ASSERT_TRUE(eventually([&] { return sink_.records() == 2; }));
  EXPECT_EQ(common::decode(sink_.record(1).payload, common::Naming::kService).message->id, 3);
}

TEST_F(WsSessionTest, FullSinkPausesReadingUntilItHasRoom) {
  sink_.answer(ProduceOutcome::kQueueFull);
  connect();
  for (int id = 1; id <= 3; ++id) send(ms1_frame(7, id));
  ASSERT_TRUE(eventually([&] { return sink_.waiting() == 1; })) << "the session waits for room";
  // The absence of an effect can only be watched for a while.
  EXPECT_FALSE(eventually([&] { return counters_.frames_received.load() > 1; }, 300ms)) << "reads are paused";
  sink_.wake();  // still full: it asks again
  ASSERT_TRUE(eventually([&] { return sink_.attempts() == 2 && sink_.waiting() == 1; }))
      << sink_.attempts() << " attempts, " << sink_.waiting() << " waiting";
  EXPECT_EQ(counters_.frames_received.load(), 1u);
  sink_.answer(ProduceOutcome::kQueued);
  sink_.wake();
  ASSERT_TRUE(eventually([&] { return sink_.records() == 3; })) << "reading resumed";
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(common::decode(sink_.record(i).payload, common::Naming::kService).message->id,
              static_cast<std::int64_t>(i + 1))
        << "nothing lost, nothing reordered";
  }
  EXPECT_EQ(counters_.frames_received.load(), 3u);
}

TEST_F(WsSessionTest, OtherRequestsAreRefused) {
  net::io_context ioc;
  {
    websocket::stream<tcp::socket> ws(ioc);
    ws.next_layer().connect(port_->local_endpoint());
    websocket::response_type response;
    beast::error_code ec;
    ws.handshake(response, "127.0.0.1", "/elsewhere", ec);
    EXPECT_EQ(ec, websocket::error::upgrade_declined) << ec.message();
    EXPECT_EQ(response.result(), http::status::not_found);
    EXPECT_NE(response.body().find("the WebSocket endpoint is /ws"), std::string::npos) << response.body();
  }
  beast::tcp_stream stream(ioc);
  stream.connect(port_->local_endpoint());
  http::request<http::string_body> request{http::verb::get, config_.ms2.path, 11};
  request.set(http::field::host, "127.0.0.1");
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_NE(response.body().find("expected a WebSocket upgrade"), std::string::npos) << response.body();
}

/// Every ping and pong the test's client reads, with its own arrival stamp (t4 of a probe).
struct Control {
  websocket::frame_type kind;
  std::string payload;
  common::Timestamp at;
};

TEST_F(WsSessionTest, ClockProbeGetsTheEchoAndAStampedPongAndMessagesStillFlow) {
  connect();
  std::vector<Control> controls;
  ws_->control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    controls.push_back({kind, std::string(payload), common::now_utc()});
  });
  // Control frames are read (and the pongs seen) only while a read is pending; MS2 sends no
  // message, so the read stays pending until the socket closes.
  beast::flat_buffer buffer;
  bool read_ended = false;
  ws_->async_read(buffer, [&](beast::error_code, std::size_t) { read_ended = true; });
  const auto pump_until = [&](auto done, std::chrono::milliseconds deadline) {
    return eventually([&] {
      client_ioc_.restart();
      client_ioc_.run_for(5ms);
      return done();
    }, deadline);
  };

  const common::ClockProbe probe{7, common::now_utc()};
  const auto text = common::format_probe(probe);
  ws_->ping(websocket::ping_data(text.c_str(), text.size()));
  ASSERT_TRUE(pump_until([&] { return controls.size() >= 2; }, test::kDefaultDeadline));
  ASSERT_EQ(controls.size(), 2u);
  std::optional<common::ClockReply> reply;
  common::Timestamp t4{};
  int echoes = 0;
  for (const auto& control : controls) {
    EXPECT_EQ(control.kind, websocket::frame_type::pong);
    if (control.payload == text) ++echoes;
    if (auto parsed = common::parse_reply(control.payload)) {
      reply = parsed;
      t4 = control.at;
    }
  }
  EXPECT_EQ(echoes, 1) << "Beast's own answer echoes the probe";
  ASSERT_TRUE(reply) << "and MS2 stamps one of its own";
  EXPECT_EQ(reply->seq, 7u);
  EXPECT_EQ(reply->t1, probe.t1);
  EXPECT_LE(probe.t1, reply->t2);
  EXPECT_LE(reply->t2, reply->t3);
  EXPECT_LE(reply->t3, t4);

  // Any other ping (Beast's idle pings carry nothing) is only echoed.
  controls.clear();
  ws_->ping(websocket::ping_data("hello"));
  ASSERT_TRUE(pump_until([&] { return !controls.empty(); }, test::kDefaultDeadline));
  EXPECT_FALSE(pump_until([&] { return controls.size() > 1; }, 300ms)) << "one answer only";
  EXPECT_EQ(controls.front().payload, "hello");

  // None of it was taken for a message, and messages go on as before.
  EXPECT_EQ(counters_.frames_received.load(), 0u);
  send(ms1_frame(10, 1));
  ASSERT_TRUE(eventually([&] { return sink_.records() == 1; }));
  EXPECT_EQ(counters_.frames_received.load(), 1u);
  EXPECT_EQ(counters_.frames_rejected.load(), 0u);
  EXPECT_FALSE(read_ended);
}

/// The same port with a short idle timeout.
class WsIdleTest : public WsSessionTest {
 protected:
  void SetUp() override {
    config_.ms2.ws_idle_timeout_ms = 300;
    WsSessionTest::SetUp();
  }
};

TEST_F(WsIdleTest, APeerThatAnswersNothingIsDroppedWithinTheIdleTimeout) {
  connect();
  ASSERT_TRUE(eventually([&] { return registry_.size() == 1; }));
  const auto connected_at = std::chrono::steady_clock::now();
  // The client never reads, so it never answers MS2's keep-alive ping.
  ASSERT_TRUE(eventually([&] { return registry_.size() == 0; }, 3s)) << "the session ended";
  EXPECT_LT(std::chrono::steady_clock::now() - connected_at, 300ms + 500ms);
}

/// The same port with `security.token` set.
class WsTokenTest : public WsSessionTest {
 protected:
  void SetUp() override {
    config_.security.token = "s3cret";
    WsSessionTest::SetUp();
  }
  /// The answer to an upgrade with `authorization` (none when empty), which must be declined.
  websocket::response_type refused_upgrade(const std::string& authorization) {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws(ioc);
    ws.next_layer().connect(port_->local_endpoint());
    if (!authorization.empty()) {
      ws.set_option(websocket::stream_base::decorator(
          [authorization](websocket::request_type& request) { request.set(http::field::authorization, authorization); }));
    }
    websocket::response_type response;
    beast::error_code ec;
    ws.handshake(response, "127.0.0.1", config_.ms2.path, ec);
    EXPECT_EQ(ec, websocket::error::upgrade_declined) << ec.message();
    return response;
  }
};

TEST_F(WsTokenTest, UpgradeWithoutTheTokenIsRefused401) {
  for (const auto& [authorization, reason] : {std::pair{std::string(), "missing bearer token"},
                                              std::pair{std::string("Basic s3cret"), "missing bearer token"},
                                              std::pair{std::string("Bearer s3cre"), "wrong bearer token"}}) {
    const auto response = refused_upgrade(authorization);
    EXPECT_EQ(response.result(), http::status::unauthorized) << authorization;
    EXPECT_EQ(response[http::field::www_authenticate], "Bearer");
    EXPECT_EQ(response[http::field::content_type], "application/json");
    EXPECT_EQ(response.body(), std::string(R"({"error":")") + reason + "\"}") << authorization;
  }
  EXPECT_EQ(counters_.upgrades_unauthorized.load(), 3u);
  EXPECT_EQ(registry_.size(), 0u) << "no session was ever created";
  EXPECT_EQ(counters_.frames_received.load(), 0u);
}

TEST_F(WsTokenTest, UpgradeWithTheTokenIsAccepted) {
  connect("Bearer s3cret");
  send(ms1_frame(8, 1));
  ASSERT_TRUE(eventually([&] { return sink_.records() == 1; }));
  EXPECT_EQ(counters_.upgrades_unauthorized.load(), 0u);
}

TEST_F(WsSessionTest, WithoutATokenEveryUpgradeIsAccepted) {
  connect("Bearer anything");
  send(ms1_frame(9, 1));
  ASSERT_TRUE(eventually([&] { return sink_.records() == 1; }));
  EXPECT_EQ(counters_.upgrades_unauthorized.load(), 0u);
}

}  // namespace ringtrace::ms2
