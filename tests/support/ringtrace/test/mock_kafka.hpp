#pragma once
/// @file
/// librdkafka's mock cluster for functional tests of Kafka code (never for figures or the e2e):
/// one broker in-process, with a topic on it.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace ringtrace::test {

/// A one-broker mock cluster with one single-partition topic, owned by a client handle that only hosts it.
class MockKafka {
 public:
  /// Kafka's ApiKey for OffsetCommit, for refuse().
  static constexpr std::int16_t kOffsetCommit = 8;

  explicit MockKafka(const std::string& topic) {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);  // the host connects nowhere: no warning
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (!host_) throw std::runtime_error(error);
    cluster_ = rd_kafka_mock_cluster_new(host_, 1);
    if (!cluster_) {
      rd_kafka_destroy(host_);
      throw std::runtime_error("no mock cluster");
    }
    rd_kafka_mock_topic_create(cluster_, topic.c_str(), 1, 1);
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  /// The bootstrap servers to give a client.
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  /// The broker answers every request `rtt_ms` late (0: at once again): longer than the client's
  /// socket.timeout.ms, it is a broker gone silent without a reset.
  void delay(int rtt_ms) { rd_kafka_mock_broker_set_rtt(cluster_, 1, rtt_ms); }

  /// The next `count` requests of `api` are answered with `error` (for every partition).
  void refuse(std::int16_t api, int count, rd_kafka_resp_err_t error) {
    std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count), error);
    rd_kafka_mock_push_request_errors_array(cluster_, api, errors.size(), errors.data());
  }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace ringtrace::test
