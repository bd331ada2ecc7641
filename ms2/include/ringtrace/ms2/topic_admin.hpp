#pragma once
/// @file
/// Creating MS2's topic at startup through librdkafka's Admin API.

#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "ringtrace/common/config.hpp"

namespace ringtrace::ms2 {

/// The broker never answered within `kafka.startup_timeout_ms`, or refused the topic for good.
class KafkaStartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What `ensure_topic` found: the first two mean the topic is usable.
enum class TopicOutcome {
  kCreated,  ///< it did not exist; it does now
  kExisted,  ///< it was there already
  kStopped,  ///< `stop` was requested before the broker answered (a signal during startup)
};

/// min.insync.replicas of the topic MS2 creates: one below `kafka.replication_factor`, at least 1,
/// so with three replicas an acks=all write is safe on two and one broker may be lost.
int min_insync_replicas(const common::KafkaConfig& config);

/// The topic-level settings MS2 creates its topic with (name, value): min.insync.replicas, and
/// unclean leader election off.
std::vector<std::pair<std::string, std::string>> topic_configs(const common::KafkaConfig& config);

/// Creates `config.topic` with `config.partitions` partitions of `config.replication_factor`
/// replicas (and topic_configs) unless it exists, retrying until `config.startup_timeout_ms` so
/// MS2 may start before the broker, or before every broker of a cluster; throws KafkaStartupError.
/// Returns kStopped within a fraction of a second of `stop` being requested. `on_attempt`, when
/// set, is called on the calling thread each time a request has been sent and its answer is
/// awaited, so a caller can tell that it is waiting for the broker.
TopicOutcome ensure_topic(rd_kafka_t* handle, const common::KafkaConfig& config, const std::stop_token& stop = {},
                          const std::function<void()>& on_attempt = {});

}  // namespace ringtrace::ms2
