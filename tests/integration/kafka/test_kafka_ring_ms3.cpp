/// @file
/// MS3's consumer/forwarder against a real Kafka broker, fed by MS2's producer, posting to a fake
/// MS1 /store: the ring from MS2 to MS1, delivery guarantees and offset commits.

#include <cstdint>
#include <thread>

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include "kafka_ring_fixture.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/ms3/ms3_service.hpp"
#include "ringtrace/test/fake_http_server.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::kafka_ring {
namespace {

using common::Hop;
using common::Naming;
using StoreServer = test::FakeHttpServer;  // the fake MS1 /store

/// Runs an Ms3Service on its own thread for the test's scope.
class Ms3Runner {
 public:
  /// Subscribes here, as the process does before it serves, then consumes on a thread.
  explicit Ms3Runner(const common::Config& config) : service_(config) {
    service_.start();
    thread_ = std::thread([this] { service_.run(); });
  }
  ~Ms3Runner() {
    service_.stop();
    thread_.join();
  }
  const ms3::Counters& counters() const { return service_.counters(); }

 private:
  ms3::Ms3Service service_;
  std::thread thread_;
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

}  // namespace
}  // namespace ringtrace::kafka_ring
