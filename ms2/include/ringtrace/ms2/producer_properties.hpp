#pragma once
/// @file
/// The librdkafka producer settings MS2 uses, as data so they can be checked without a broker.

#include <string>
#include <utility>
#include <vector>

#include "ringtrace/common/config.hpp"

namespace ringtrace::ms2 {

/// librdkafka property name → value.
using Properties = std::vector<std::pair<std::string, std::string>>;

/// No batching delay; acks, retries and idempotence as common::DeliveryPolicy says for `config.delivery`.
Properties producer_properties(const common::KafkaConfig& config);

}  // namespace ringtrace::ms2
