#pragma once
/// @file
/// MS3's per-record decision: stamp, POST to MS1 (pipelined), retry until MS1 answers for good.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "ringtrace/common/backoff.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms3/counters.hpp"
#include "ringtrace/ms3/record_view.hpp"
#include "ringtrace/ms3/store_client.hpp"

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

/// At least once, how many leading records of a forwarded batch may be committed: those before
/// the first one a stop left unsent. It and all after it are consumed again after a restart
/// (those MS1 already took come back as duplicates).
std::size_t committable(const std::vector<ForwardOutcome>& outcomes);

/// What the Forwarder reads of the configuration: its section and what it needs of two others.
struct ForwarderSettings {
  common::Ms3Config ms3;            ///< store_url (for spans), retry_initial_ms, retry_max_ms
  common::Naming naming = common::Naming::kService;  ///< the message's field names
  std::string topic;                ///< the topic consumed, for spans
  /// One POST, or retries until MS1 takes it.
  common::DeliveryPolicy delivery = common::DeliveryPolicy::of(common::Delivery::kAtLeastOnce);
  /// Picks the settings out of the whole configuration, for the assembly.
  static ForwarderSettings from(const common::Config& config);
};

/// Sends records to MS1 through a StoreClient, a batch at a time (pipelined on one connection by
/// the HTTP client, so MS1 can write them in one transaction). At least once: retries the records MS1 did not take, with backoff, for as long
/// as MS1 is down or busy, so nothing is skipped. At most once: one attempt, which a stop lets
/// finish, because the records are already committed. forward() runs on one thread; stop() may
/// come from any.
class Forwarder {
 public:
  /// Keeps references to `counters`, `store` and, when given, `tracer` (all must outlive the forwarder).
  Forwarder(const ForwarderSettings& settings, Counters& counters, StoreClient& store,
            common::tracing::Tracer* tracer = nullptr);

  /// Stamps and POSTs each record until MS1 answers 2xx or a permanent 4xx, or stop() is called
  /// (at most once: a single POST each). The spans of this hop hang below each record's
  /// traceparent. Returns one outcome per record, in order.
  std::vector<ForwardOutcome> forward(const std::vector<RecordView>& records);

  /// Makes a running forward() return kStopped soon (cancels the request in flight and the backoff wait).
  void stop();

  /// True once stop() was called.
  bool stopping() const { return stopping_.load(); }

 private:
  /// Waits `delay` unless stopped first; false when stopped.
  bool wait(std::chrono::milliseconds delay);
  struct Pending;
  /// Stamps each record; those that go on to MS1 are returned, the others get their outcome.
  std::vector<Pending> decode(const std::vector<RecordView>& records, std::vector<ForwardOutcome>& outcomes);
  /// Opens the record's consume span below its traceparent and, if it is to be sent, the POST's.
  void start_spans(Pending& item, const RecordView& view);
  /// A record that is not a valid message: counted, logged, and committed without a POST.
  ForwardOutcome pass_undecodable(Pending& item, const RecordView& view);
  /// POSTs until every record is settled (with backoff between rounds) or a stop comes first;
  /// what is left in `pending` was never taken by MS1.
  void deliver(std::vector<Pending>& pending, std::vector<ForwardOutcome>& outcomes);
  /// One round: POSTs every pending record and keeps those to try again in `pending`; the spans of
  /// those MS1 answered for good end with the round, not after their batch-mates' retries. Returns
  /// the first failure, for the log.
  std::optional<StoreResult> post_once(std::vector<Pending>& pending, std::vector<ForwardOutcome>& outcomes);
  /// A record MS1 answered: counts it, marks its span; the outcome, or nullopt to try again.
  std::optional<ForwardOutcome> settle(Pending& item, const StoreResult& result);
  /// The retry line of a round, thinned out once a record has failed a few times.
  static void log_retry(const std::vector<Pending>& pending, const StoreResult& failed,
                        std::chrono::milliseconds delay);
  /// Marks the spans of records a stop left unsent; they stay uncommitted.
  void leave_unsent(std::vector<Pending>& pending);

  common::Naming naming_;
  Counters& counters_;
  common::tracing::Tracer* tracer_;
  std::string topic_;
  bool single_attempt_;
  std::string url_;  ///< ms3.store_url, for span attributes
  std::atomic<bool> stopping_{false};
  StoreClient& store_;  ///< cancelled by stop(), except at most once, where the record is committed already
  common::Backoff backoff_;
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace ringtrace::ms3
