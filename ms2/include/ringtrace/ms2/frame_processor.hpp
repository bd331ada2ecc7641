#pragma once
/// @file
/// What MS2 does with one WebSocket frame, kept apart from sockets so it is tested alone.

#include <cstdint>
#include <string>
#include <string_view>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/hop_step.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms2 {

/// Refuses a binary frame, then runs the MS2 hop's step (common::run_hop) with `now`, reading the
/// trace context the frame carries: everything in the topic is a valid message one hop further.
/// Only a kOk result is produced to Kafka; the rest are counted and dropped.
common::HopResult process_frame(std::string_view frame, bool is_text, common::Naming naming, common::Timestamp now);

/// The Kafka record key of message `id` of session `session_id` under `kafka.key`: the session id
/// (`session`: a session stays on one partition, in order) or `<session_id>/<id>` (`message`:
/// spread over the partitions by the key's hash).
std::string record_key(const common::KafkaConfig& config, std::int64_t session_id, std::int64_t id);

}  // namespace ringtrace::ms2
