#pragma once
/// @file
/// What MS3 does with one Kafka record before sending it on, kept apart from Kafka and HTTP.

#include <cstdint>
#include <string>
#include <string_view>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms3 {

/// The fate of a record; only kOk is POSTed to MS1, the rest are counted, committed and passed.
enum class RecordOutcome {
  kOk,           ///< decoded and stamped
  kUndecodable,  ///< not a message (bad JSON, wrong types, other naming…)
  kBadStamps,    ///< a message whose stamps show it skipped MS2 or already passed MS3
};

/// Short name of an outcome, for logs.
std::string_view to_string(RecordOutcome outcome);

/// A record as Kafka handed it over, apart from librdkafka's types; the views must stay valid
/// while it is processed.
struct RecordView {
  std::string_view payload;      ///< the record's value
  std::string_view traceparent;  ///< its trace context header; empty = none
};

/// A processed record: the body to POST, or why there is none.
struct RecordResult {
  RecordOutcome outcome = RecordOutcome::kOk;  ///< what to do with it
  std::string body;                            ///< stamped JSON for MS1 (kOk only)
  std::int64_t session_id = 0;                 ///< for logs (kOk and kBadStamps)
  std::int64_t id = 0;                         ///< for logs (kOk and kBadStamps)
  std::string reason;                          ///< why it cannot be forwarded (empty on kOk)
};

/// Decodes `payload`, stamps the MS3 hop with `now` and re-encodes; `now` is a parameter so tests need no clock.
RecordResult process_record(std::string_view payload, common::Naming naming, common::Timestamp now);

}  // namespace ringtrace::ms3
