#pragma once
/// @file
/// The database writer thread: keeps libpq's blocking calls off MS1's event loop and batches rows.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "ringtrace/ms1/ring/message_store.hpp"

namespace ringtrace::ms1 {

/// What became of one message handed to the writer.
enum class StoreOutcome {
  kStored,       ///< written now
  kDuplicate,    ///< the same (session_id, id) was already there; nothing changed
  kUnavailable,  ///< the database is down; the sender should retry later
  kRejected,     ///< the database refused this very row (its batch-mates were written alone)
  kOverloaded,   ///< the queue is full; the sender should retry later
  kUnknownSession,  ///< the sessions table has no closed session of that id; nothing was written
  kUnknownId,       ///< the session is known but never sent that id; nothing was written
};

/// Who vouches that MS1 generated a message handed to the writer.
enum class IdCheck {
  kDone,      ///< the event loop did: it is an id the controller's own session sent
  kSessions,  ///< nobody yet: the writer checks it against the sessions table (MessageStore::id_bound)
};

/// Tuning of the writer.
struct StoreWriterOptions {
  std::size_t batch_max = 512;     ///< rows per transaction at most
  std::size_t queue_max = 100000;  ///< queued jobs beyond this are refused (kOverloaded)
  std::chrono::milliseconds reconnect_initial{100};  ///< first reconnect delay
  std::chrono::milliseconds reconnect_max{5000};     ///< reconnect backoff ceiling
  std::size_t known_sessions_max = 4096;  ///< id bounds of closed sessions kept; beyond, the cache starts over
};

/// Owns a MessageStore and the thread that uses it. Every completion is posted to the executor
/// given at construction (MS1's event loop), so callers never see the writer thread.
class StoreWriter {
 public:
  /// Completion of store().
  using StoreCallback = std::function<void(StoreOutcome)>;
  /// Completion of begin_session(): the new id, or nullopt with the reason.
  using BeginCallback = std::function<void(std::optional<std::int64_t>, const std::string& error)>;
  /// Completion of finish_session(): empty error on success.
  using FinishCallback = std::function<void(const std::string& error)>;

  /// Starts the thread, which connects (retrying with backoff) before serving jobs.
  StoreWriter(std::unique_ptr<MessageStore> store, boost::asio::any_io_executor completions, StoreWriterOptions options);
  /// Finishes queued jobs, then joins.
  ~StoreWriter();

  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  /// Queues one message, stored with `trace_id` (all zero: untraced); consecutive messages are
  /// written together in one transaction. With IdCheck::kSessions a message its session never
  /// sent completes kUnknownSession or kUnknownId and is left out of the transaction, which goes
  /// on without it.
  void store(const common::Message& message, const common::tracing::TraceId& trace_id, IdCheck check,
             StoreCallback done);
  /// Queues the creation of a session row, with the peer clocks' estimates at its start (copied).
  void begin_session(const SessionSettings& settings, common::Timestamp started_at, std::span<const ClockRecord> clocks,
                     BeginCallback done);
  /// Queues the session's outcome; runs after every message queued before it, so once it
  /// completes the session's rows are durable.
  void finish_session(const SessionSummary& summary, FinishCallback done);

  /// Whether the last database operation succeeded (for /healthz).
  [[nodiscard]] bool connected() const { return connected_.load(std::memory_order_relaxed); }
  /// Connections opened so far; more than one means the database was reconnected.
  [[nodiscard]] std::uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  /// Jobs waiting for the writer thread (a growing number means the database cannot keep up).
  [[nodiscard]] std::size_t queue_depth() const;

  /// Stops accepting new jobs, runs what is queued, and joins. Idempotent.
  void stop();

 private:
  struct StoreJob {
    StoreRow row;
    IdCheck check;
    StoreCallback done;
  };
  struct BeginJob {
    SessionSettings settings;
    common::Timestamp started_at;
    std::vector<ClockRecord> clocks;
    BeginCallback done;
  };
  struct FinishJob {
    SessionSummary summary;
    FinishCallback done;
  };
  using Job = std::variant<StoreJob, BeginJob, FinishJob>;

  void run();
  bool push(Job job);
  bool ensure_connected(bool force);
  /// Closes the sessions an earlier MS1 left open; the first connection of this process does it.
  void close_interrupted();
  /// Runs `op` once, reconnecting and retrying once if the connection had dropped.
  template <typename Op>
  void with_retry(Op&& op);
  /// Writes one batch from the queue: consecutive rows, or one session job.
  void write_batch(std::deque<Job>& batch);
  /// Writes row jobs in one transaction, leaving out those refusal() refuses, and completes each.
  void write_rows(std::deque<Job>& jobs);
  /// Writes each row job in a transaction of its own, after their joint one was refused.
  void write_rows_alone(std::deque<Job>& jobs);
  /// Hands each row job its outcome, in order.
  void complete_rows(std::deque<Job>& jobs, const std::vector<StoreOutcome>& outcomes);
  /// Creates the session row and completes the job with its id.
  void write_begin(BeginJob& job);
  /// Records the session's outcome and completes the job.
  void write_finish(FinishJob& job);
  /// Why `message` must not be stored (kUnknownSession, kUnknownId), or nullopt; may throw as the store does.
  std::optional<StoreOutcome> refusal(const common::Message& message);
  template <typename F>
  void complete(F&& f);

  std::unique_ptr<MessageStore> store_;
  boost::asio::any_io_executor completions_;
  StoreWriterOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> connects_{0};
  std::chrono::steady_clock::time_point next_connect_{};
  std::chrono::milliseconds backoff_;
  /// Writer thread only: id bounds of closed sessions, which never change. Unknown sessions are
  /// not kept, so a stranger's made-up ids cannot fill it.
  std::unordered_map<std::int64_t, std::int64_t> known_sessions_;
  std::thread thread_;
};

}  // namespace ringtrace::ms1
