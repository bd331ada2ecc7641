#pragma once
/// @file
/// Where MS2's WebSocket sessions hand accepted frames: the seam before Kafka, so sessions are
/// tested with a fake and the producer without sockets.

#include <functional>
#include <string>
#include <string_view>

namespace ringtrace::ms2 {

/// One record for the topic.
struct Record {
  std::string key;          ///< the session id, so a session's records stay in one partition, in order
  std::string payload;      ///< the stamped message
  std::string traceparent;  ///< the `kafka produce` span's context, sent as a record header; may be empty
};

/// What became of a queued record, once the broker answered (or gave up).
struct DeliveryReport {
  bool ok = false;     ///< the broker acknowledged it
  std::string error;   ///< why not (empty when ok)
};

/// Runs once per queued record, on the sink's own thread (librdkafka's poll thread for Kafka):
/// whoever needs an event loop must post there.
using DeliveryCallback = std::function<void(const DeliveryReport& report)>;

/// What `produce` did with a record.
enum class ProduceOutcome {
  kQueued,     ///< taken; its DeliveryCallback will run
  kQueueFull,  ///< not taken: the local queue is full; try again once `when_writable` fires
  kFailed,     ///< refused for good (already logged and counted); the callback will not run
};

/// Short name of an outcome, for logs and span statuses.
std::string_view to_string(ProduceOutcome outcome);

/// Takes records and reports each one's delivery. Thread-safe.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  /// Queues `record` without blocking; `on_delivery` runs exactly once if and only if kQueued.
  virtual ProduceOutcome produce(const Record& record, DeliveryCallback on_delivery) = 0;
  /// Runs `ready` once (on the sink's thread) when a record refused with kQueueFull may be taken now;
  /// it may come early, and the caller then simply asks again. A sink that closes drops what is still
  /// waiting (so `ready` may own its caller), before the callers' event loop goes.
  virtual void when_writable(std::function<void()> ready) = 0;
};

}  // namespace ringtrace::ms2
