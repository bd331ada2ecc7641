#pragma once
/// @file
/// What the Kafka ring tests share: a fixture with its own topic and consumer group on the real
/// broker (RINGTRACE__KAFKA__BROKERS, default 127.0.0.1:9092), MS2's producer already connected, and
/// ways to look at the topic and the group's committed offset without joining the group.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/ms2/kafka_producer.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::kafka_ring {

using namespace std::chrono_literals;

/// Upper bound for anything that needs the broker (group join, delivery): generous, never slept.
inline constexpr auto kDeadline = 30s;
/// Tolerance when comparing stamps taken from the (non-monotonic) system clock.
inline constexpr auto kClockSlack = std::chrono::microseconds(1000);

/// A name no other test run uses (pid, time, counter), so parallel runs never share a topic or group.
std::string unique_name(const std::string& prefix);

/// test::eventually with the broker's deadline.
template <class Predicate>
bool eventually(Predicate&& predicate) {
  return test::eventually(std::forward<Predicate>(predicate), kDeadline, 10ms);
}

/// A message as MS1 sends it: only t1 stamped.
std::string ms1_frame(std::int64_t session_id, std::int64_t id, common::Naming naming = common::Naming::kService);

/// A fresh topic and group per test, with MS2's producer on it, so tests never see each other's records.
class KafkaRing : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Points MS3 at the fake MS1 /store on `port`.
  void use_store(std::uint16_t port);

  /// Goes through MS2's frame logic and producer, as a frame from MS1 would.
  void produce_from_ms1(std::int64_t session_id, std::int64_t id);

  /// The group's committed offset for partition 0, asked by a consumer that never joins the group.
  std::int64_t committed_offset();

  /// A record copied out of librdkafka (its messages must die before their consumer does).
  struct Record {
    std::string key;
    std::string payload;
  };

  /// Reads `count` records from partition 0 from the beginning (assign, no group join).
  std::vector<Record> read_topic(std::size_t count);

  common::Config config_;
  ms2::Counters producer_counters_;
  std::unique_ptr<ms2::KafkaProducer> producer_;
  std::unique_ptr<RdKafka::KafkaConsumer> checker_;
};

}  // namespace ringtrace::kafka_ring
