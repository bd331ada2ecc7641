#include "ringtrace/ms2/topic_admin.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

namespace ringtrace::ms2 {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// One CreateTopics attempt never waits longer than this, so a late broker is noticed soon.
constexpr milliseconds kAttemptTimeout{5000};
/// Pause between attempts that failed fast (e.g. connection refused).
constexpr milliseconds kRetryPause{200};
/// How often a wait looks at the stop token.
constexpr milliseconds kStopCheck{100};

struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* p) const { rd_kafka_NewTopic_destroy(p); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* p) const { rd_kafka_AdminOptions_destroy(p); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* p) const { rd_kafka_queue_destroy(p); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* p) const { rd_kafka_event_destroy(p); }
};

/// Errors that retrying cannot fix: bad topic name, bad partition count, no permission. A
/// replication factor above the brokers registered so far is not one of them: a cluster that is
/// starting has fewer, and the deadline bounds the wait.
bool is_permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
      return true;
    default:
      return false;
  }
}

/// Waits up to `timeout` for the admin result on `queue`, in slices so a stop request is seen soon.
rd_kafka_event_t* poll_result(rd_kafka_queue_t* queue, milliseconds timeout, const std::stop_token& stop) {
  const auto until = Clock::now() + timeout;
  while (!stop.stop_requested()) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    if (left <= milliseconds::zero()) return nullptr;
    if (auto* event = rd_kafka_queue_poll(queue, static_cast<int>(std::min(left, kStopCheck).count()))) return event;
  }
  return nullptr;
}

}  // namespace

int min_insync_replicas(const common::KafkaConfig& config) { return std::max(1, config.replication_factor - 1); }

std::vector<std::pair<std::string, std::string>> topic_configs(const common::KafkaConfig& config) {
  // A replica that fell out of sync never becomes leader: it would drop acknowledged writes.
  return {{"min.insync.replicas", std::to_string(min_insync_replicas(config))},
          {"unclean.leader.election.enable", "false"}};
}

TopicOutcome ensure_topic(rd_kafka_t* handle, const common::KafkaConfig& config, const std::stop_token& stop,
                          const std::function<void()>& on_attempt) {
  const auto deadline = Clock::now() + milliseconds(config.startup_timeout_ms);
  std::string last_error = "no answer";
  char errstr[512];
  for (int attempt = 1;; ++attempt) {
    if (stop.stop_requested()) return TopicOutcome::kStopped;
    auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (remaining <= milliseconds::zero()) {
      throw KafkaStartupError("kafka broker " + config.brokers + " did not create topic '" + config.topic +
                              "' within " + std::to_string(config.startup_timeout_ms) +
                              " ms (kafka.startup_timeout_ms): " + last_error);
    }
    const int attempt_ms = static_cast<int>(std::clamp(remaining, milliseconds(100), kAttemptTimeout).count());
    const auto started = Clock::now();

    std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter> topic(rd_kafka_NewTopic_new(
        config.topic.c_str(), config.partitions, config.replication_factor, errstr, sizeof errstr));
    if (!topic) {
      throw KafkaStartupError("kafka.topic/kafka.partitions/kafka.replication_factor: " + std::string(errstr));
    }
    for (const auto& [name, value] : topic_configs(config)) {
      rd_kafka_NewTopic_set_config(topic.get(), name.c_str(), value.c_str());
    }
    std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(
        rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS));
    rd_kafka_AdminOptions_set_request_timeout(options.get(), attempt_ms, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), attempt_ms, errstr, sizeof errstr);
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(handle));

    rd_kafka_NewTopic_t* topics[] = {topic.get()};
    rd_kafka_CreateTopics(handle, topics, 1, options.get(), queue.get());
    if (on_attempt) on_attempt();
    std::unique_ptr<rd_kafka_event_t, EventDeleter> event(
        poll_result(queue.get(), milliseconds(attempt_ms + 1000), stop));
    if (stop.stop_requested()) return TopicOutcome::kStopped;

    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (!event) {
      last_error = "timed out";
    } else if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      err = rd_kafka_event_error(event.get());
      last_error = rd_kafka_event_error_string(event.get());
    } else {
      size_t count = 0;
      const auto* results =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &count);
      err = count == 1 ? rd_kafka_topic_result_error(results[0]) : RD_KAFKA_RESP_ERR__FAIL;
      const char* message = count == 1 ? rd_kafka_topic_result_error_string(results[0]) : nullptr;
      last_error = message ? message : rd_kafka_err2str(err);
    }

    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::info("ms2: created topic {} ({} partition(s), replication factor {}, min.insync.replicas {})",
                   config.topic, config.partitions, config.replication_factor, min_insync_replicas(config));
      return TopicOutcome::kCreated;
    }
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      spdlog::info("ms2: topic {} exists", config.topic);
      return TopicOutcome::kExisted;
    }
    if (is_permanent(err)) {
      throw KafkaStartupError("kafka broker refused topic '" + config.topic + "': " + last_error);
    }
    spdlog::warn("ms2: creating topic {} (attempt {}): {}; retrying", config.topic, attempt, last_error);
    if (Clock::now() - started < kRetryPause) {
      std::this_thread::sleep_for(kRetryPause);
    }
  }
}

}  // namespace ringtrace::ms2
