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

/// Manual commits only (at-least-once: the offset moves after MS1 answered), earliest on a new
/// group, and fetch settings tuned for one message at a time rather than throughput.
Properties consumer_properties(const common::KafkaConfig& config);

}  // namespace ringtrace::ms3
