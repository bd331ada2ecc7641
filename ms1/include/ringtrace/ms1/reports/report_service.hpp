#pragma once
/// @file
/// The report thread: owns the ReportStore, so a report on a large session runs beside the
/// writer and never on MS1's event loop.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "ringtrace/ms1/reports/blocking_worker.hpp"
#include "ringtrace/ms1/reports/report_store.hpp"

namespace ringtrace::ms1 {

/// Slowest messages a report lists (the routes and the latency line ask the same, so one fills
/// the cache for the other).
inline constexpr int kSlowestMessages = 10;

/// What became of one report job; the HTTP side maps it to a status.
enum class ReportOutcome {
  kOk,           ///< the value is there
  kNotFound,     ///< no such session
  kUnavailable,  ///< the database is down (reconnecting with backoff): retry later
  kOverloaded,   ///< too many reports queued: retry later
  kFailed,       ///< the database refused the query
};

/// A report job's answer: the value when kOk, else the reason.
template <typename T>
struct ReportResult {
  ReportOutcome outcome = ReportOutcome::kFailed;  ///< see ReportOutcome
  T value{};                                       ///< valid when kOk
  std::string error;                               ///< why not, when not kOk
};

/// Tuning of the report thread.
struct ReportServiceOptions {
  std::size_t queue_max = 32;                        ///< reports waiting beyond this are refused (kOverloaded)
  std::chrono::milliseconds reconnect_initial{100};  ///< first reconnect delay
  std::chrono::milliseconds reconnect_max{5000};     ///< reconnect backoff ceiling
  /// Closed sessions whose last report is kept (least recently used goes first): a session of a
  /// million rows takes seconds to report and is looked at again and again once it is over.
  std::size_t cached_sessions = 16;
};

/// Runs report queries on its own thread and connection; connects on the first job and, after
/// the database went away, again once the backoff allows. Every completion is posted to the
/// executor given at construction (MS1's event loop). A closed session's report is computed once
/// and served again while the session's row count is unchanged (late messages add rows); a
/// running session's is computed each time, without counting its rows.
class ReportService {
 public:
  /// Completion of list_sessions().
  using ListDone = std::function<void(ReportResult<std::vector<SessionRow>>)>;
  /// Completion of session_report(); kNotFound when there is no such session.
  using ReportDone = std::function<void(ReportResult<SessionReport>)>;

  /// Starts the thread; nothing connects until the first job.
  ReportService(std::unique_ptr<ReportStore> store, boost::asio::any_io_executor completions,
                ReportServiceOptions options = {});
  /// Runs what is queued, then joins.
  ~ReportService();

  ReportService(const ReportService&) = delete;
  ReportService& operator=(const ReportService&) = delete;

  /// Queues ReportStore::list_sessions.
  void list_sessions(std::optional<std::int64_t> before, int limit, ListDone done);
  /// Queues ReportStore::session_report.
  void session_report(std::int64_t session_id, int slowest, ReportDone done);

  /// Reports served from the cache of closed sessions, not recomputed.
  [[nodiscard]] std::uint64_t cache_hits() const { return cache_hits_.load(std::memory_order_relaxed); }

  /// Whether the last connection attempt or query succeeded.
  [[nodiscard]] bool connected() const { return connected_.load(std::memory_order_relaxed); }

  /// Stops accepting jobs, runs the queued ones, and joins. Idempotent.
  void stop() { worker_.stop(); }

 private:
  /// Runs `query` against the store (report thread), connecting first and retrying once at once
  /// when the connection turns out dropped.
  template <typename T, typename Query>
  ReportResult<T> run(Query&& query);
  bool ensure_connected(bool force, std::string& error);
  /// The report of `session_id` from the cache when still good, else from the store (report thread).
  ReportResult<SessionReport> report(std::int64_t session_id, int slowest);

  /// A closed session's report and what it was computed from.
  struct Cached {
    std::int64_t rows = 0;  ///< the session's rows, counted before the report was read
    int slowest = 0;        ///< slowest messages asked for
    SessionReport report;
    std::uint64_t used = 0;  ///< last use, for eviction
  };

  std::unique_ptr<ReportStore> store_;  ///< report thread only
  boost::asio::any_io_executor completions_;
  ReportServiceOptions options_;
  std::atomic<bool> connected_{false};
  std::chrono::steady_clock::time_point next_connect_{};  ///< report thread only
  std::chrono::milliseconds backoff_;                     ///< report thread only
  std::map<std::int64_t, Cached> cache_;                   ///< report thread only
  /// Sessions whose last report found them open, read without a count (report thread only).
  std::set<std::int64_t> open_;
  /// At most this many in open_: one session runs at a time, a few more were left open by a crash.
  static constexpr std::size_t kOpenSessionsKept = 64;
  std::uint64_t uses_ = 0;                                 ///< report thread only
  std::atomic<std::uint64_t> cache_hits_{0};
  BlockingWorker worker_;  ///< last: its thread stops before the store goes
};

}  // namespace ringtrace::ms1
