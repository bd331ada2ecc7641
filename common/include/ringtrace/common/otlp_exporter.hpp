#pragma once
/// @file
/// The batching OTLP/HTTP exporter behind Tracer: a bounded span queue drained by one thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"

namespace ringtrace::common {
class HttpClient;  // Beast stays out of this header
}  // namespace ringtrace::common

namespace ringtrace::common::tracing {

/// Queues finished spans (never blocking the caller beyond a short mutex hold) and POSTs them in
/// batches of at most batch_max from one background thread. Best-effort: a full queue drops the
/// span, a failed POST loses its batch; nothing is retried, so nothing piles up.
class Exporter {
 public:
  /// Parses the endpoint (throws ConfigError naming `tracing.endpoint`) and starts the thread.
  Exporter(const TracingConfig& config, std::string service);
  /// Stops the thread, abandoning an in-flight POST and whatever is still queued; call flush() first.
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  /// Queues `span`, or drops and counts it when the queue is full. Any thread.
  void enqueue(std::unique_ptr<SpanData> span);
  /// Sends everything queued now and waits for it, at most about timeout_ms + 500 ms.
  void flush();
  /// Counters so far. Any thread.
  [[nodiscard]] TracerStats stats() const;

 private:
  void run();
  void send(const std::vector<std::unique_ptr<SpanData>>& batch);

  const std::string service_;
  const std::string url_;
  const TracingProtocol protocol_;
  const std::size_t queue_max_;
  const std::size_t batch_max_;
  const std::chrono::milliseconds flush_interval_;
  const std::chrono::milliseconds timeout_;
  std::unique_ptr<HttpClient> client_;  // used by the exporter thread only
  std::vector<std::unique_ptr<SpanData>> batch_;    // exporter thread only: spans being sent
  std::string body_;  // exporter thread only: reused, so a batch's body costs no allocation once grown

  mutable std::mutex mutex_;
  std::condition_variable wake_;   // exporter thread: a full batch, a flush, or stop
  std::condition_variable done_;   // flush(): a batch has been sent
  std::deque<std::unique_ptr<SpanData>> queue_;  // guarded by mutex_
  std::uint64_t accepted_ = 0;     // spans ever queued; guarded by mutex_
  std::uint64_t taken_ = 0;        // spans ever taken off the queue; guarded by mutex_
  std::uint64_t handled_ = 0;      // spans taken whose POST has finished; guarded by mutex_
  std::uint64_t flush_target_ = 0; // send until taken_ reaches this; guarded by mutex_
  bool stop_ = false;              // guarded by mutex_

  std::atomic<bool> abort_{false};  // cuts an in-flight POST short at destruction
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failed_{0};

  enum class Health { kUnknown, kUp, kUnreachable, kRejecting };
  Health health_ = Health::kUnknown;  // exporter thread only; logs go out on changes only

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace ringtrace::common::tracing
