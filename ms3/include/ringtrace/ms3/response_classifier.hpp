#pragma once
/// @file
/// What MS1's answer to a POST means for the record's offset.

#include <string_view>

namespace ringtrace::ms3 {

/// What to do with a record after MS1 answered.
enum class ResponseAction {
  kCommit,  ///< stored: commit and take the next record
  kReject,  ///< refused for good: log, count, commit and pass, since retrying cannot help
  kRetry,   ///< MS1 could not take it now: send the same record again after a backoff
};

/// Short name of an action, for logs.
std::string_view to_string(ResponseAction action);

/// 2xx → kCommit; 4xx except 401, 408 and 429 → kReject; everything else (5xx, 401, 408, 429, 1xx,
/// 3xx) → kRetry, because on doubt keeping the record costs a delay while dropping it loses a
/// message. A 401 says MS3's `security.token` is not MS1's: every record would be refused alike,
/// so they wait, uncommitted, until the tokens agree.
ResponseAction classify_response(unsigned status);

}  // namespace ringtrace::ms3
