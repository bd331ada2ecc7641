// MS1's WebSocket client against a small WebSocket server in the test: connecting, sending,
// noticing a dropped link and reconnecting with backoff, and closing with a close frame.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/clock_offset.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms1/ring/ws_client.hpp"
#include "ringtrace/test/wait.hpp"

using namespace ringtrace;
using namespace ringtrace::ms1;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

namespace {

/// Accepts WebSocket connections on a free loopback port and keeps the text frames it reads.
/// Runs on the test's io_context.
class TestWsServer {
 public:
  using Stream = websocket::stream<beast::tcp_stream>;

  explicit TestWsServer(boost::asio::io_context& ioc)
      : acceptor_(ioc, tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}) {
    do_accept();
  }

  [[nodiscard]] unsigned short port() const { return acceptor_.local_endpoint().port(); }

  /// Drops the current connection without a close frame, as a crashed MS2 would.
  void drop() {
    if (current_) beast::get_lowest_layer(*current_).socket().close();
    current_.reset();
  }
  /// Stops accepting: reconnects fail until a server listens again.
  void stop_accepting() { acceptor_.close(); }
  /// Accepts later connections but never reads from them, as a stalled MS2 would: the client's
  /// writes stay pending once the socket buffers are full, and its close frame is never answered.
  void stall() { stalled_ = true; }
  /// Answers clock probes as MS2 does, with a clock `offset` ahead of the test's.
  void answer_probes(std::chrono::microseconds offset) {
    stamping_ = true;
    offset_ = offset;
  }

  int handshakes = 0;                ///< WebSocket upgrades accepted
  int close_frames = 0;              ///< connections the client closed with a close frame
  std::string target;                ///< the path of the last upgrade
  std::string user_agent;            ///< the User-Agent of the last upgrade
  std::string authorization;         ///< the Authorization of the last upgrade, "(none)" without one
  std::vector<std::string> frames;   ///< text frames read, in order
  int probes = 0;                    ///< clock probes received

 private:
  void do_accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto ws = std::make_shared<Stream>(std::move(socket));
      auto request = std::make_shared<beast::http::request<beast::http::string_body>>();
      auto buffer = std::make_shared<beast::flat_buffer>();
      beast::http::async_read(ws->next_layer(), *buffer, *request, [this, ws, request, buffer](beast::error_code ec, std::size_t) {
        if (ec) return;
        target = std::string(request->target());
        user_agent = std::string((*request)[beast::http::field::user_agent]);
        authorization = request->count(beast::http::field::authorization) == 0
                            ? "(none)"
                            : std::string((*request)[beast::http::field::authorization]);
        ws->async_accept(*request, [this, ws](beast::error_code ec) {
          if (ec) return;
          ++handshakes;
          current_ = ws;
          ws->control_callback([this, weak = std::weak_ptr<Stream>(ws)](websocket::frame_type kind, beast::string_view payload) {
            if (kind != websocket::frame_type::ping) return;
            const auto t2 = common::now_utc() + offset_;
            auto probe = common::parse_probe(std::string_view(payload.data(), payload.size()));
            if (!probe) return;
            ++probes;
            if (!stamping_) return;
            // As MS2 does: stamped outside the read, and skipped while a pong is still going out.
            boost::asio::post(acceptor_.get_executor(), [this, weak, probe = *probe, t2] {
              auto ws = weak.lock();
              if (!ws || pong_in_flight_) return;
              auto reply = std::make_shared<std::string>(common::format_reply({probe.seq, probe.t1, t2, common::now_utc() + offset_}));
              pong_in_flight_ = true;
              ws->async_pong(websocket::ping_data(reply->c_str(), reply->size()), [this, ws, reply](beast::error_code) {
                pong_in_flight_ = false;
              });
            });
          });
          if (!stalled_) read(ws);
        });
      });
      do_accept();
    });
  }

  void read(const std::shared_ptr<Stream>& ws) {
    auto buffer = std::make_shared<beast::flat_buffer>();
    ws->async_read(*buffer, [this, ws, buffer](beast::error_code ec, std::size_t) {
      if (ec == websocket::error::closed) ++close_frames;
      if (ec) return;
      frames.push_back(beast::buffers_to_string(buffer->data()));
      read(ws);
    });
  }

  tcp::acceptor acceptor_;
  std::shared_ptr<Stream> current_;
  bool stalled_ = false;
  bool stamping_ = false;
  bool pong_in_flight_ = false;
  std::chrono::microseconds offset_{0};
};

/// Counts the link's ups and downs.
class Listener : public WsLinkListener {
 public:
  void on_link_up() override { ++ups; }
  void on_link_down() override { ++downs; }
  void on_clock_sample(const common::ClockSample& sample) override { samples.push_back(sample); }
  int ups = 0;
  int downs = 0;
  std::vector<common::ClockSample> samples;
};

class WsClientTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::off); }  // link failures log on purpose

  std::shared_ptr<WsClient> make_client(unsigned short port, std::string authorization = {},
                                        WsClientOptions options = {}) {
    return std::make_shared<WsClient>(
        ioc_, common::parse_endpoint("ws://127.0.0.1:" + std::to_string(port) + "/ws", "ws", "ms1.ms2_url"),
        common::Backoff(std::chrono::milliseconds(5), std::chrono::milliseconds(20)), std::move(authorization),
        options);
  }

  template <typename Pred>
  bool run_until(Pred done) {
    return test::eventually(
        [&] {
          ioc_.restart();
          ioc_.run_for(std::chrono::milliseconds(2));
          return done();
        },
        test::kDefaultDeadline, std::chrono::milliseconds(0));
  }

  boost::asio::io_context ioc_{1};
  Listener listener_;
};

TEST_F(WsClientTest, ConnectsAndSendsTextFramesInOrder) {
  TestWsServer server(ioc_);
  auto client = make_client(server.port());
  EXPECT_FALSE(client->send("too early")) << "nothing is queued before the handshake";
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  EXPECT_EQ(listener_.ups, 1);
  EXPECT_EQ(client->connects(), 1u);
  EXPECT_EQ(server.target, "/ws");
  EXPECT_EQ(server.user_agent, "ringtrace-ms1");
  EXPECT_EQ(server.authorization, "(none)") << "no token configured, no header";
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(client->send("frame " + std::to_string(i)));
  ASSERT_TRUE(run_until([&] { return server.frames.size() == 20; }));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(server.frames[static_cast<std::size_t>(i)], "frame " + std::to_string(i));
  client->stop();
  ASSERT_TRUE(run_until([&] { return server.close_frames == 1; })) << "stop() sends a close frame";
  EXPECT_FALSE(client->connected());
  EXPECT_FALSE(client->send("after stop"));
  EXPECT_EQ(listener_.downs, 0) << "a stop is not a lost link";
}

TEST_F(WsClientTest, SendsTheTokenOnEveryHandshake) {
  TestWsServer server(ioc_);
  auto client = make_client(server.port(), "Bearer s3cret");
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  EXPECT_EQ(server.authorization, "Bearer s3cret");
  server.authorization.clear();
  server.drop();
  ASSERT_TRUE(run_until([&] { return server.handshakes == 2; }));
  EXPECT_EQ(server.authorization, "Bearer s3cret") << "and again on a reconnect";
  client->stop();
}

TEST_F(WsClientTest, DroppedLinkIsReportedAndReconnected) {
  TestWsServer server(ioc_);
  auto client = make_client(server.port());
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  server.drop();
  ASSERT_TRUE(run_until([&] { return listener_.downs == 1; }));
  ASSERT_TRUE(run_until([&] { return client->connected(); })) << "reconnects with backoff";
  EXPECT_EQ(client->connects(), 2u);
  EXPECT_EQ(listener_.ups, 2);
  EXPECT_EQ(server.handshakes, 2);
  EXPECT_TRUE(client->send("again"));
  ASSERT_TRUE(run_until([&] { return server.frames.size() == 1; }));
  EXPECT_EQ(server.frames[0], "again");
  client->stop();
  ASSERT_TRUE(run_until([&] { return server.close_frames == 1; }));
}

TEST_F(WsClientTest, KeepsRetryingWhileNothingListensAndStopEndsTheRetries) {
  unsigned short port = 0;
  {
    TestWsServer probe(ioc_);  // a port that was free a moment ago and is closed now
    port = probe.port();
    probe.stop_accepting();
  }
  auto client = make_client(port);
  client->start(listener_);
  ioc_.restart();
  ioc_.run_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(client->connects(), 0u);
  EXPECT_EQ(listener_.ups, 0);
  EXPECT_EQ(listener_.downs, 0) << "never up, so never down";
  client->stop();
  ioc_.restart();
  EXPECT_TRUE(test::eventually([&] {
    ioc_.poll();
    return ioc_.stopped();
  })) << "no retry is left pending after stop()";
}

TEST_F(WsClientTest, StopWhileAWriteIsStuckEndsWithinTheCloseBound) {
  TestWsServer server(ioc_);
  server.stall();
  auto client = make_client(server.port());
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  // Far more than the loopback socket buffers hold, and more frames behind it: the write of the first
  // stays pending, with the read that is always pending beside it.
  EXPECT_TRUE(client->send(std::string(16 << 20, 'x')));
  EXPECT_TRUE(client->send("behind it"));
  ioc_.restart();
  ioc_.run_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(client->connected()) << "the stalled server has not dropped the link";
  const auto stopped_at = std::chrono::steady_clock::now();
  client->stop();
  // Nothing answers the close frame, so the bound ends it: then no operation holds the client.
  ASSERT_TRUE(run_until([&] { return client.use_count() == 1; })) << "stop() left operations pending";
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(5));
  EXPECT_EQ(listener_.downs, 0) << "a stop is not a lost link";
}

TEST_F(WsClientTest, StopDuringALargeWriteClosesAndSendsNothingQueuedBehindIt) {
  TestWsServer server(ioc_);
  auto client = make_client(server.port());
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  const std::string large(8 << 20, 'y');  // sent in many fragments, each read from the queued frame
  EXPECT_TRUE(client->send(large));
  EXPECT_TRUE(client->send("behind it"));
  client->stop();  // the large frame's write has begun and is still pending
  // Beast may send the close frame between two fragments, so the large frame may arrive cut short
  // (the server then sees no frame) or whole; the frame behind it never goes.
  ASSERT_TRUE(run_until([&] { return server.close_frames == 1; })) << "closed with a close frame";
  ASSERT_LE(server.frames.size(), 1u);
  if (!server.frames.empty()) {
    EXPECT_EQ(server.frames[0], large);
  }
  ASSERT_TRUE(run_until([&] { return client.use_count() == 1; })) << "stop() left operations pending";
}

TEST_F(WsClientTest, StopBeforeTheHandshakeClosesTheSocket) {
  TestWsServer server(ioc_);
  auto client = make_client(server.port());
  client->start(listener_);
  client->stop();
  ioc_.restart();
  ioc_.run_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(listener_.ups, 0);
}

TEST_F(WsClientTest, ClockProbesBecomeSamplesOfThePeersClock) {
  using namespace std::chrono_literals;
  TestWsServer server(ioc_);
  server.answer_probes(80ms);
  auto client = make_client(server.port(), {}, WsClientOptions{3000ms, 100ms});
  const auto started = common::now_utc();
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  // Messages beside the probes, which must not be taken for one.
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(client->send("frame " + std::to_string(i)));
  ASSERT_TRUE(run_until([&] { return listener_.samples.size() >= WsClient::kProbeBurst + 2; }))
      << listener_.samples.size() << " samples";
  ASSERT_TRUE(run_until([&] { return server.frames.size() == 50; }));
  EXPECT_EQ(server.frames.front(), "frame 0");
  EXPECT_EQ(server.frames.back(), "frame 49") << "only messages arrive as frames";
  const auto done = common::now_utc();
  for (const auto& sample : listener_.samples) {
    EXPECT_LE(started, sample.t1);
    EXPECT_LE(sample.t1, sample.t4);
    EXPECT_LE(sample.t4, done);
    const auto e = common::estimate(sample);
    ASSERT_TRUE(e);
    EXPECT_LE(std::abs(e->offset_us - 80'000), e->uncertainty_us) << "the true offset is inside the interval";
    EXPECT_LT(e->uncertainty_us, 50'000) << "loopback: far below a second";
  }
  EXPECT_GE(client->probes_sent(), static_cast<std::uint64_t>(WsClient::kProbeBurst + 2));
  EXPECT_EQ(listener_.downs, 0);
  client->stop();
  ASSERT_TRUE(run_until([&] { return client.use_count() == 1; })) << "stop() left operations pending";
}

TEST_F(WsClientTest, ProbesAreOffWithAZeroInterval) {
  using namespace std::chrono_literals;
  TestWsServer server(ioc_);
  server.answer_probes(0ms);
  auto client = make_client(server.port(), {}, WsClientOptions{3000ms, 0ms});
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  ioc_.restart();
  ioc_.run_for(300ms);
  EXPECT_EQ(server.probes, 0);
  EXPECT_TRUE(listener_.samples.empty());
  client->stop();
}

TEST_F(WsClientTest, APeerThatStopsReadingIsDroppedWithinTheIdleTimeout) {
  using namespace std::chrono_literals;
  TestWsServer server(ioc_);
  server.stall();  // reads nothing, so answers no ping
  const auto idle = 400ms;
  auto client = make_client(server.port(), {}, WsClientOptions{idle, 50ms});
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  const auto up_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return listener_.downs == 1; })) << "a silent peer is noticed";
  EXPECT_LT(std::chrono::steady_clock::now() - up_at, idle + 500ms);
  EXPECT_TRUE(listener_.samples.empty());
  client->stop();
}

TEST_F(WsClientTest, ProbesBesideIdlePingsAndALongWriteKeepTheLinkUp) {
  using namespace std::chrono_literals;
  TestWsServer server(ioc_);
  server.answer_probes(-50ms);
  // Probes every 5 ms and Beast's own idle ping every 500 ms, while large frames keep a write in
  // flight. The idle timeout stays above the time the in-process server needs to read one large frame
  // (over 100 ms under AddressSanitizer), or the link would rightly be dropped as silent.
  auto client = make_client(server.port(), {}, WsClientOptions{1000ms, 5ms});
  client->start(listener_);
  ASSERT_TRUE(run_until([&] { return client->connected(); }));
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(client->send(std::string(512 << 10, static_cast<char>('a' + i))));
  ASSERT_TRUE(run_until([&] { return server.frames.size() == 8; }))
      << server.frames.size() << " frames, " << listener_.downs << " downs, " << client->connects() << " connects";
  ASSERT_TRUE(run_until([&] { return listener_.samples.size() >= 10; }));
  EXPECT_EQ(listener_.downs, 0) << "the peer answered all along";
  EXPECT_EQ(client->connects(), 1u);
  for (const auto& sample : listener_.samples) {
    const auto e = common::estimate(sample);
    ASSERT_TRUE(e);
    EXPECT_LE(std::abs(e->offset_us + 50'000), e->uncertainty_us);
  }
  client->stop();
  ASSERT_TRUE(run_until([&] { return client.use_count() == 1; }));
}

}  // namespace
