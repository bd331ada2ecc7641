#include "ringtrace/ms1/reports/report_service.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/ms1/db/errors.hpp"

namespace ringtrace::ms1 {

namespace {
constexpr const char* kOverloaded = "too many reports are queued; retry";
}  // namespace

ReportService::ReportService(std::unique_ptr<ReportStore> store, boost::asio::any_io_executor completions,
                             ReportServiceOptions options)
    : store_(std::move(store)),
      completions_(std::move(completions)),
      options_(options),
      backoff_(options.reconnect_initial),
      worker_(options.queue_max) {}

ReportService::~ReportService() { stop(); }

bool ReportService::ensure_connected(bool force, std::string& error) {
  if (connected_.load()) return true;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now < next_connect_) {
    error = "the database is not reachable (reconnecting)";
    return false;
  }
  try {
    store_->connect();
    connected_.store(true);
    backoff_ = options_.reconnect_initial;
    return true;
  } catch (const std::exception& e) {
    error = std::string("the database is not reachable: ") + e.what();
    spdlog::warn("reports: {} (retrying in {} ms)", e.what(), backoff_.count());
    next_connect_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
    return false;
  }
}

template <typename T, typename Query>
ReportResult<T> ReportService::run(Query&& query) {
  ReportResult<T> result;
  result.outcome = ReportOutcome::kUnavailable;
  // Two tries: a connection that dropped since the last report is re-opened once, right away.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!ensure_connected(attempt > 0, result.error)) return result;
    try {
      return query();
    } catch (const StoreUnavailable& e) {
      connected_.store(false);
      result.error = std::string("the database is not reachable: ") + e.what();
      spdlog::warn("reports: connection lost: {}", e.what());
    } catch (const std::exception& e) {
      spdlog::error("reports: the database refused: {}", e.what());
      return {ReportOutcome::kFailed, {}, e.what()};
    }
  }
  return result;
}

ReportResult<SessionReport> ReportService::report(std::int64_t session_id, int slowest) {
  // The count only serves the cache of closed sessions. A session last seen open is read without
  // it: a running session's report is refreshed every few seconds, and the count is a scan of
  // its rows. Counted first: a row stored while the report runs makes the count low, never stale-high.
  std::optional<std::int64_t> rows;
  if (options_.cached_sessions > 0 && !open_.count(session_id)) rows = store_->stored_rows(session_id);
  if (const auto it = cache_.find(session_id); rows && it != cache_.end()) {
    if (it->second.rows == *rows && it->second.slowest >= slowest) {
      it->second.used = ++uses_;
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      SessionReport copy = it->second.report;
      if (copy.slowest.size() > static_cast<std::size_t>(std::max(slowest, 0))) copy.slowest.resize(std::max(slowest, 0));
      return {ReportOutcome::kOk, std::move(copy), {}};
    }
    cache_.erase(it);
  }
  auto report = store_->session_report(session_id, slowest);
  if (!report || !report->session.finished_at) {
    // Open (it grows), or not there (yet): not kept. Sessions that never close, their MS1 gone,
    // must not pile up here; forgetting them costs one count each.
    if (report && options_.cached_sessions > 0) {
      if (open_.size() >= kOpenSessionsKept) open_.clear();
      open_.insert(session_id);
    }
    if (!report) return {ReportOutcome::kNotFound, {}, "no session " + std::to_string(session_id)};
    return {ReportOutcome::kOk, std::move(*report), {}};
  }
  // Closed: it changes only when a late message adds a row. Kept from the next report on when it
  // was open until now (this one was read without a count).
  open_.erase(session_id);
  if (rows) {
    if (cache_.size() >= options_.cached_sessions) {
      cache_.erase(std::min_element(cache_.begin(), cache_.end(),
                                    [](const auto& a, const auto& b) { return a.second.used < b.second.used; }));
    }
    cache_[session_id] = Cached{*rows, slowest, *report, ++uses_};
  }
  return {ReportOutcome::kOk, std::move(*report), {}};
}

void ReportService::list_sessions(std::optional<std::int64_t> before, int limit, ListDone done) {
  auto shared = std::make_shared<ListDone>(std::move(done));
  const bool queued = worker_.post([this, before, limit, shared] {
    auto result = run<std::vector<SessionRow>>([&] {
      return ReportResult<std::vector<SessionRow>>{ReportOutcome::kOk, store_->list_sessions(before, limit), {}};
    });
    boost::asio::post(completions_, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
  });
  if (!queued) {
    boost::asio::post(completions_, [shared] { (*shared)({ReportOutcome::kOverloaded, {}, kOverloaded}); });
  }
}

void ReportService::session_report(std::int64_t session_id, int slowest, ReportDone done) {
  auto shared = std::make_shared<ReportDone>(std::move(done));
  const bool queued = worker_.post([this, session_id, slowest, shared] {
    auto result = run<SessionReport>([&] { return report(session_id, slowest); });
    boost::asio::post(completions_, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
  });
  if (!queued) {
    boost::asio::post(completions_, [shared] { (*shared)({ReportOutcome::kOverloaded, {}, kOverloaded}); });
  }
}

}  // namespace ringtrace::ms1
