#pragma once
/// @file
/// The seam between MS3's forwarding decisions and the transport to MS1's /store.

#include <string_view>
#include <vector>

#include "ringtrace/common/http_client.hpp"

namespace ringtrace::ms3 {

/// One record for MS1; the views must stay valid for the call.
struct StoreRequest {
  std::string_view body;         ///< stamped JSON message
  std::string_view traceparent;  ///< trace context of the POST span; empty = none
};

/// MS1's answer to one record: a transport error, or a status and body (what the Forwarder classifies).
using StoreResult = common::PostResult;

/// Hands records to MS1, a batch at a time, so the Forwarder decides retries and outcomes
/// without a socket in sight (unit tests give it a fake). store() runs on one thread; cancel()
/// may come from any.
class StoreClient {
 public:
  virtual ~StoreClient() = default;

  /// Sends `records` (pipelined when the transport can) and returns one result per record, in
  /// order. After cancel(), returns soon with errors for what was not answered.
  virtual std::vector<StoreResult> store(const std::vector<StoreRequest>& records) = 0;

  /// Cuts a store() in flight short, for shutdown; sticky: every later store() fails at once.
  virtual void cancel() = 0;
};

}  // namespace ringtrace::ms3
