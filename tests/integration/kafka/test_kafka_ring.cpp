/// @file
/// MS2's producer and WebSocket server and MS3's consumer/forwarder against a real Kafka broker
/// (RINGTRACE__KAFKA__BROKERS, default 127.0.0.1:9092). Each test uses its own topic and group.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/ms2/frame_processor.hpp"
#include "ringtrace/ms2/kafka_producer.hpp"
#include "ringtrace/ms2/ms2_service.hpp"
#include "ringtrace/ms2/topic_admin.hpp"
#include "ringtrace/ms3/ms3_service.hpp"
#include "ringtrace/test/backends.hpp"
#include "ringtrace/test/fake_http_server.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace {
namespace {

using namespace std::chrono_literals;
using common::Hop;
using common::Naming;
using StoreServer = test::FakeHttpServer;  // the fake MS1 /store

/// Upper bound for anything that needs the broker (group join, delivery): generous, never slept.
constexpr auto kDeadline = 30s;
/// Tolerance when comparing stamps taken from the (non-monotonic) system clock.
constexpr auto kClockSlack = std::chrono::microseconds(1000);

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(now) + "-" + std::to_string(counter++);
}

/// test::eventually with the broker's deadline.
template <class Predicate>
bool eventually(Predicate&& predicate) {
  return test::eventually(std::forward<Predicate>(predicate), kDeadline, 10ms);
}

/// A message as MS1 sends it: only t1 stamped.
std::string ms1_frame(std::int64_t session_id, std::int64_t id, Naming naming = Naming::kService) {
  common::Message m;
  m.id = id;
  m.session_id = session_id;
  m.at(Hop::kMs1) = common::now_utc();
  return common::encode(m, naming);
}

/// Runs an Ms3Service on its own thread for the test's scope.
class Ms3Runner {
 public:
  explicit Ms3Runner(const common::Config& config) : service_(config), thread_([this] { service_.run(); }) {}
  ~Ms3Runner() {
    service_.stop();
    thread_.join();
  }
  const ms3::Counters& counters() const { return service_.counters(); }

 private:
  ms3::Ms3Service service_;
  std::thread thread_;
};

class KafkaRing : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.kafka.brokers = test::kafka_brokers();
    config_.kafka.topic = unique_name("ringtrace-it");
    config_.kafka.group_id = unique_name("ringtrace-it-group");
    config_.kafka.partitions = 1;
    config_.kafka.startup_timeout_ms = 15000;
    config_.ms2.listen_address = "127.0.0.1";
    config_.ms2.port = 0;
    config_.ms2.admin_port = 0;  // off: tests run in parallel, and the e2e covers the admin port
    config_.ms3.request_timeout_ms = 2000;
    config_.ms3.retry_initial_ms = 20;
    config_.ms3.retry_max_ms = 200;
    producer_ = std::make_unique<ms2::KafkaProducer>(config_.kafka, producer_counters_);
    ASSERT_EQ(ms2::ensure_topic(producer_->c_handle(), config_.kafka), ms2::TopicOutcome::kCreated);
  }

  void use_store(std::uint16_t port) {
    config_.ms3.store_url = "http://127.0.0.1:" + std::to_string(port) + "/store";
  }

  /// Goes through MS2's frame logic and producer, as a frame from MS1 would.
  void produce_from_ms1(std::int64_t session_id, std::int64_t id) {
    auto result = ms2::process_frame(ms1_frame(session_id, id), true, config_.message.naming, common::now_utc());
    ASSERT_EQ(result.outcome, ms2::FrameOutcome::kOk) << result.reason;
    ASSERT_EQ(producer_->produce({std::to_string(result.session_id), result.payload, {}}, {}),
              ms2::ProduceOutcome::kQueued);
  }

  /// The group's committed offset for partition 0, asked by a consumer that never joins the group.
  std::int64_t committed_offset() {
    if (!checker_) {
      std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
      std::string error;
      conf->set("bootstrap.servers", config_.kafka.brokers, error);
      conf->set("group.id", config_.kafka.group_id, error);
      checker_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
      if (!checker_) ADD_FAILURE() << error;
    }
    std::vector<RdKafka::TopicPartition*> partitions{RdKafka::TopicPartition::create(config_.kafka.topic, 0)};
    const auto err = checker_->committed(partitions, 5000);
    const auto offset = err == RdKafka::ERR_NO_ERROR ? partitions[0]->offset() : -2;
    RdKafka::TopicPartition::destroy(partitions);
    return offset;
  }

  /// A record copied out of librdkafka (its messages must die before their consumer does).
  struct Record {
    std::string key;
    std::string payload;
  };

  /// Reads `count` records from partition 0 from the beginning (assign, no group join).
  std::vector<Record> read_topic(std::size_t count) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", config_.kafka.brokers, error);
    conf->set("group.id", unique_name("ringtrace-it-reader"), error);
    conf->set("enable.auto.commit", "false", error);
    std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.get(), error));
    std::vector<RdKafka::TopicPartition*> partitions{
        RdKafka::TopicPartition::create(config_.kafka.topic, 0, RdKafka::Topic::OFFSET_BEGINNING)};
    reader->assign(partitions);
    RdKafka::TopicPartition::destroy(partitions);
    std::vector<Record> records;
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> record(reader->consume(100));
      if (record->err() == RdKafka::ERR_NO_ERROR) {
        records.push_back({record->key() ? *record->key() : std::string(),
                           std::string(static_cast<const char*>(record->payload()), record->len())});
      }
    }
    reader->close();
    return records;
  }

  void TearDown() override {
    if (checker_) checker_->close();
  }

  common::Config config_;
  ms2::Counters producer_counters_;
  std::unique_ptr<ms2::KafkaProducer> producer_;
  std::unique_ptr<RdKafka::KafkaConsumer> checker_;
};

// (1) MS2 producer → broker → MS3 → MS1 stand-in: every message arrives once, in order, stamped t1..t3.
TEST_F(KafkaRing, ProducerToForwarderDeliversStampedMessagesInOrder) {
  StoreServer store;
  use_store(store.port());
  for (int id = 1; id <= 3; ++id) produce_from_ms1(5, id);

  Ms3Runner ms3(config_);
  ASSERT_TRUE(test::eventually([&] { return store.stored().size() >= 3; }, kDeadline))
      << "stored " << store.stored().size();

  const auto requests = store.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].method, "POST");
    EXPECT_EQ(requests[i].target, "/store");
    EXPECT_EQ(requests[i].content_type, "application/json");
    auto decoded = common::decode(requests[i].body, Naming::kService);
    ASSERT_TRUE(decoded) << decoded.error << ": " << requests[i].body;
    const auto& m = *decoded.message;
    EXPECT_EQ(m.session_id, 5);
    EXPECT_EQ(m.id, static_cast<std::int64_t>(i + 1));
    ASSERT_TRUE(m.at(Hop::kMs1) && m.at(Hop::kMs2) && m.at(Hop::kMs3));
    // Wall clock, not steady: on this VM it was seen stepping back 1 us between two calls, hence the slack.
    EXPECT_LE(*m.at(Hop::kMs1), *m.at(Hop::kMs2) + kClockSlack);
    EXPECT_LE(*m.at(Hop::kMs2), *m.at(Hop::kMs3) + kClockSlack);
    EXPECT_FALSE(m.at(Hop::kEnd).has_value());
  }
  EXPECT_EQ(store.connections(), 1u) << "MS3 should keep one connection alive";
  EXPECT_TRUE(eventually([&] { return committed_offset() == 3; })) << committed_offset();
  EXPECT_EQ(ms3.counters().forwarded.load(), 3u);
  EXPECT_TRUE(eventually([&] { return producer_counters_.produced.load() == 3; }));
}

// (2) The offset moves only after MS1 answered 2xx; 503s make MS3 retry the same record.
TEST_F(KafkaRing, CommitsOnlyAfterSuccess) {
  StoreServer store;
  store.hold(true);
  use_store(store.port());
  produce_from_ms1(6, 1);

  Ms3Runner ms3(config_);
  ASSERT_TRUE(test::eventually([&] { return store.requests().size() >= 3; }, kDeadline));
  EXPECT_EQ(committed_offset(), RdKafka::Topic::OFFSET_INVALID) << "committed before MS1 accepted";
  EXPECT_GE(ms3.counters().retries.load(), 2u);
  EXPECT_EQ(ms3.counters().forwarded.load(), 0u);

  store.hold(false);
  ASSERT_TRUE(test::eventually([&] { return store.stored().size() == 1; }, kDeadline));
  EXPECT_TRUE(eventually([&] { return committed_offset() == 1; })) << committed_offset();
  const auto requests = store.requests();
  for (const auto& r : requests) {
    EXPECT_EQ(r.body, requests.front().body) << "a retry must resend the same record";
  }
  EXPECT_EQ(requests.back().answered, 200u);
  EXPECT_EQ(ms3.counters().forwarded.load(), 1u);
}

// (3) MS1 not listening at first: MS3 keeps retrying, and once MS1 is up everything arrives, nothing skipped.
TEST_F(KafkaRing, WaitsForMs1AndSkipsNothing) {
  const auto port = test::free_port();
  use_store(port);
  produce_from_ms1(7, 1);
  produce_from_ms1(7, 2);

  Ms3Runner ms3(config_);
  ASSERT_TRUE(eventually([&] { return ms3.counters().retries.load() >= 3; })) << "MS3 never tried MS1";
  EXPECT_EQ(committed_offset(), RdKafka::Topic::OFFSET_INVALID);

  StoreServer store(port);
  ASSERT_TRUE(test::eventually([&] { return store.stored().size() >= 2; }, kDeadline));
  const auto stored = store.stored();
  ASSERT_EQ(stored.size(), 2u);
  for (std::size_t i = 0; i < stored.size(); ++i) {
    auto decoded = common::decode(stored[i], Naming::kService);
    ASSERT_TRUE(decoded) << decoded.error;
    EXPECT_EQ(decoded.message->id, static_cast<std::int64_t>(i + 1));
  }
  EXPECT_TRUE(eventually([&] { return committed_offset() == 2; })) << committed_offset();
}

// (4) A record that is not a message is committed and passed; the good record behind it arrives.
TEST_F(KafkaRing, UndecodableRecordIsPassed) {
  StoreServer store;
  use_store(store.port());
  ASSERT_EQ(producer_->produce({"8", std::string("\x00\x01 not a message", 17), {}}, {}), ms2::ProduceOutcome::kQueued);
  produce_from_ms1(8, 1);

  Ms3Runner ms3(config_);
  ASSERT_TRUE(test::eventually([&] { return store.stored().size() >= 1; }, kDeadline));
  EXPECT_EQ(store.requests().size(), 1u) << "the undecodable record must not be POSTed";
  auto decoded = common::decode(store.stored().front(), Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.message->session_id, 8);
  EXPECT_EQ(ms3.counters().undecodable.load(), 1u);
  EXPECT_EQ(ms3.counters().consumed.load(), 2u);
  EXPECT_TRUE(eventually([&] { return committed_offset() == 2; })) << committed_offset();
}

// (5) At most once: the offset is committed before the POST, and a failed POST is not repeated.
TEST_F(KafkaRing, AtMostOnceCommitsFirstAndTriesOnce) {
  config_.kafka.delivery = common::Delivery::kAtMostOnce;
  StoreServer store;
  store.hold(true);  // MS1 answers 503 to #1
  use_store(store.port());
  produce_from_ms1(9, 1);

  Ms3Runner ms3(config_);
  ASSERT_TRUE(eventually([&] { return ms3.counters().dropped.load() == 1; })) << "the failed POST was not dropped";
  EXPECT_EQ(committed_offset(), 1) << "committed before the POST, so it stays committed";
  EXPECT_EQ(store.requests().size(), 1u) << "at most once means no retry";
  EXPECT_EQ(ms3.counters().retries.load(), 0u);

  store.hold(false);
  produce_from_ms1(9, 2);
  ASSERT_TRUE(test::eventually([&] { return store.stored().size() == 1; }, kDeadline));
  auto decoded = common::decode(store.stored().front(), Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.message->id, 2);
  EXPECT_TRUE(eventually([&] { return committed_offset() == 2; })) << committed_offset();
  EXPECT_EQ(store.requests().size(), 2u);
}

// (6) A restarted consumer with the same static member id takes its partition back at once and
// resumes after the last committed offset.
TEST_F(KafkaRing, StaticMemberResumesFromItsCommittedOffset) {
  config_.ms3.group_instance_id = "ms3-static-test";
  StoreServer store;
  use_store(store.port());
  produce_from_ms1(10, 1);
  {
    Ms3Runner ms3(config_);
    ASSERT_TRUE(test::eventually([&] { return store.stored().size() == 1; }, kDeadline));
  }
  produce_from_ms1(10, 2);
  Ms3Runner again(config_);
  ASSERT_TRUE(test::eventually([&] { return store.stored().size() == 2; }, kDeadline));
  auto decoded = common::decode(store.stored().back(), Naming::kService);
  ASSERT_TRUE(decoded) << decoded.error;
  EXPECT_EQ(decoded.message->id, 2) << "#1 was committed, so it is not read again";
  EXPECT_EQ(store.requests().size(), 2u);
}

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

// (5) MS2 end to end: garbage frames are dropped, the good frame on the same connection reaches the topic with t2.
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
}  // namespace ringtrace
