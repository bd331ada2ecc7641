#pragma once
/// @file
/// A consumed record as the Forwarder takes it, apart from librdkafka's types.

#include <string_view>

namespace ringtrace::ms3 {

/// A record as Kafka handed it over; the views must stay valid while it is processed. The
/// Forwarder runs MS3's hop step (common::run_hop at Hop::kMs3) on the payload.
struct RecordView {
  std::string_view payload;      ///< the record's value
  std::string_view traceparent;  ///< its trace context header; empty = none
};

}  // namespace ringtrace::ms3
