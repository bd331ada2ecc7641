#pragma once
/// @file
/// MS3's per-record decision: stamp, POST to MS1, retry until MS1 answers for good.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string_view>

#include "ringtrace/common/backoff.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms3/counters.hpp"
#include "ringtrace/ms3/http_poster.hpp"

namespace ringtrace::ms3 {

/// What became of a record; the caller commits on every outcome but kStopped.
enum class ForwardOutcome {
  kStored,       ///< MS1 answered 2xx
  kRejected,     ///< MS1 refused it for good (4xx)
  kUndecodable,  ///< not a valid message; nothing was sent
  kStopped,      ///< shutdown came first; not committed, so it is consumed again after a restart
  kDropped,      ///< at-most-once: the single POST failed; the record was committed before, so it is lost
};

/// Short name of an outcome, for logs.
std::string_view to_string(ForwardOutcome outcome);

/// Sends records to MS1 one at a time. At least once: retries the same record with backoff for as
/// long as MS1 is down or busy, so nothing is skipped. At most once: one attempt, which a stop lets
/// finish, because the record is already committed. forward() runs on one thread; stop() may come from any.
class Forwarder {
 public:
  /// Parses `ms3.store_url` (throws ConfigError) and keeps references to `counters` and, when
  /// given, `tracer` (both must outlive the forwarder).
  Forwarder(const common::Config& config, Counters& counters, common::tracing::Tracer* tracer = nullptr);

  /// Stamps and POSTs `payload` until MS1 answers 2xx or a permanent 4xx, or stop() is called
  /// (at most once: a single POST).
  /// `traceparent` is the record's trace context header; the spans of this hop hang below it.
  ForwardOutcome forward(std::string_view payload, std::string_view traceparent = {});

  /// Makes a running forward() return kStopped soon (cancels the request in flight and the backoff wait).
  void stop();

  /// True once stop() was called.
  bool stopping() const { return stopping_.load(); }

 private:
  /// Waits `delay` unless stopped first; false when stopped.
  bool wait(std::chrono::milliseconds delay);

  common::Naming naming_;
  Counters& counters_;
  common::tracing::Tracer* tracer_;
  std::string topic_;
  bool single_attempt_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> cancel_{false};  ///< aborts the POST in flight; left alone when the record is committed already
  HttpPoster poster_;
  common::Backoff backoff_;
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace ringtrace::ms3
