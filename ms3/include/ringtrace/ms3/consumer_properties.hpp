#pragma once
/// @file
/// The librdkafka consumer settings MS3 uses, as data so they can be checked without a broker.

#include <string>
#include <utility>
#include <vector>

#include "ringtrace/common/config.hpp"

namespace ringtrace::ms3 {

/// librdkafka property name → value.
using Properties = std::vector<std::pair<std::string, std::string>>;

/// Manual commits only (MS3 decides when the offset moves, per `config.delivery`), earliest on a
/// new group, fetch settings tuned for one message at a time rather than throughput, and static
/// membership when `group_instance_id` is not empty.
Properties consumer_properties(const common::KafkaConfig& config, const std::string& group_instance_id = {});

}  // namespace ringtrace::ms3
