#include "ringtrace/common/kafka_events.hpp"

#include <gtest/gtest.h>

using namespace ringtrace::common;

namespace {

/// An event as librdkafka hands one to the callback.
class FakeEvent : public RdKafka::Event {
 public:
  FakeEvent(Type type, RdKafka::ErrorCode err) : type_(type), err_(err) {}
  Type type() const override { return type_; }
  RdKafka::ErrorCode err() const override { return err_; }
  Severity severity() const override { return EVENT_SEVERITY_ERROR; }
  std::string fac() const override { return "FAIL"; }
  std::string str() const override { return "127.0.0.1:9092/1: 1 request(s) timed out: disconnect"; }
  int throttle_time() const override { return 0; }
  std::string broker_name() const override { return "127.0.0.1:9092/1"; }
  int broker_id() const override { return 1; }
  bool fatal() const override { return false; }

 private:
  Type type_;
  RdKafka::ErrorCode err_;
};

}  // namespace

TEST(KafkaEvents, CountsConnectionFailuresFromTheirLogLinesAndAllBrokersDownFromItsEvent) {
  KafkaEventLogger logger("test");
  EXPECT_EQ(logger.transport_errors(), 0U);
  // librdkafka reports each failed connection twice: its FAIL line at once, its error event when
  // the handle is polled. The line counts; the event would count it again.
  FakeEvent fail_line(RdKafka::Event::EVENT_LOG, RdKafka::ERR_NO_ERROR);
  FakeEvent timed_out(RdKafka::Event::EVENT_ERROR, RdKafka::ERR__TIMED_OUT);
  FakeEvent down(RdKafka::Event::EVENT_ERROR, RdKafka::ERR__ALL_BROKERS_DOWN);
  FakeEvent other(RdKafka::Event::EVENT_ERROR, RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED);
  logger.event_cb(fail_line);
  logger.event_cb(timed_out);
  logger.event_cb(other);
  logger.event_cb(down);
  EXPECT_EQ(logger.transport_errors(), 2U);
}

TEST(KafkaEvents, OnlyFailLinesAtWarningOrWorseAreConnectionFailures) {
  EXPECT_TRUE(is_connection_failure_log("FAIL", RdKafka::Event::EVENT_SEVERITY_ERROR));
  EXPECT_TRUE(is_connection_failure_log("FAIL", RdKafka::Event::EVENT_SEVERITY_WARNING));
  EXPECT_FALSE(is_connection_failure_log("FAIL", RdKafka::Event::EVENT_SEVERITY_INFO));   // an idle close
  EXPECT_FALSE(is_connection_failure_log("FAIL", RdKafka::Event::EVENT_SEVERITY_DEBUG));
  EXPECT_FALSE(is_connection_failure_log("REQTMOUT", RdKafka::Event::EVENT_SEVERITY_WARNING));
  EXPECT_FALSE(is_connection_failure_log("CONFWARN", RdKafka::Event::EVENT_SEVERITY_WARNING));
}
