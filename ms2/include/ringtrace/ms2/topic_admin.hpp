#pragma once
/// @file
/// Creating MS2's topic at startup through librdkafka's Admin API.

#include <stdexcept>

#include <librdkafka/rdkafka.h>

#include "ringtrace/common/config.hpp"

namespace ringtrace::ms2 {

/// The broker never answered within `kafka.startup_timeout_ms`, or refused the topic for good.
class KafkaStartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What `ensure_topic` found; both mean the topic is usable.
enum class TopicOutcome { kCreated, kExisted };

/// Creates `config.topic` with `config.partitions` partitions (replication 1) unless it exists,
/// retrying until `config.startup_timeout_ms` so MS2 may start before the broker; throws KafkaStartupError.
TopicOutcome ensure_topic(rd_kafka_t* handle, const common::KafkaConfig& config);

}  // namespace ringtrace::ms2
