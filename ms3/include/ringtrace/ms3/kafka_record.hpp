#pragma once
/// @file
/// Reading a consumed Kafka record (payload, headers) into the plain view the Forwarder takes; no broker involved.

#include <string_view>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "ringtrace/ms3/record_view.hpp"

namespace ringtrace::ms3 {

/// Name of the header carrying the W3C trace context MS2 propagates.
inline constexpr const char* kTraceparentHeader = "traceparent";

/// The last value of header `name` in `headers` (null: a record without headers), pointing into
/// them, because the C++ API's Header would copy it; empty when absent or valueless.
std::string_view last_header(const rd_kafka_headers_t* headers, const char* name);

/// The payload of `record` and, when `with_traceparent`, its last traceparent header; both point
/// into `record`, which must outlive the view.
RecordView record_view(RdKafka::Message& record, bool with_traceparent);

}  // namespace ringtrace::ms3
