#include "ringtrace/ms1/ring/store_writer.hpp"

#include <algorithm>
#include <vector>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace ringtrace::ms1 {

namespace {

enum class Attempt { kOk, kUnavailable, kRejected };

/// Each row job's outcome once its transaction committed: why it was left out, else whether its
/// row (`inserted` holds one entry per row written, in order) was new.
std::vector<StoreOutcome> written_outcomes(const std::vector<std::optional<StoreOutcome>>& refused,
                                           const std::vector<bool>& inserted) {
  std::vector<StoreOutcome> outcomes;
  outcomes.reserve(refused.size());
  std::size_t row = 0;
  for (const auto& refusal : refused) {
    outcomes.push_back(refusal ? *refusal : (inserted[row++] ? StoreOutcome::kStored : StoreOutcome::kDuplicate));
  }
  return outcomes;
}

}  // namespace

StoreWriter::StoreWriter(std::unique_ptr<MessageStore> store, boost::asio::any_io_executor completions,
                         StoreWriterOptions options)
    : store_(std::move(store)),
      completions_(std::move(completions)),
      options_(options),
      backoff_(options.reconnect_initial),
      thread_([this] { run(); }) {}

StoreWriter::~StoreWriter() { stop(); }

void StoreWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

template <typename F>
void StoreWriter::complete(F&& f) {
  boost::asio::post(completions_, std::forward<F>(f));
}

bool StoreWriter::push(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_max) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void StoreWriter::store(const common::Message& message, const common::tracing::TraceId& trace_id, IdCheck check,
                        StoreCallback done) {
  auto callback = done;  // kept in case the queue refuses the job
  if (!push(StoreJob{StoreRow{message, trace_id}, check, std::move(done)})) {
    complete([callback = std::move(callback)] { callback(StoreOutcome::kOverloaded); });
  }
}

void StoreWriter::begin_session(const SessionSettings& settings, common::Timestamp started_at,
                                std::span<const ClockRecord> clocks, BeginCallback done) {
  auto callback = done;
  if (!push(BeginJob{settings, started_at, {clocks.begin(), clocks.end()}, std::move(done)})) {
    complete([callback = std::move(callback)] { callback(std::nullopt, "database writer is overloaded or stopping"); });
  }
}

void StoreWriter::finish_session(const SessionSummary& summary, FinishCallback done) {
  auto callback = done;
  if (!push(FinishJob{summary, std::move(done)})) {
    complete([callback = std::move(callback)] { callback("database writer is overloaded or stopping"); });
  }
}

std::size_t StoreWriter::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool StoreWriter::ensure_connected(bool force) {
  if (connected_.load()) return true;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now < next_connect_) return false;
  try {
    store_->connect();
    if (connects_.load() == 0) close_interrupted();
    connected_.store(true);
    connects_.fetch_add(1, std::memory_order_relaxed);
    backoff_ = options_.reconnect_initial;
    spdlog::info("database connected, schema ready");
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("database: {} (retrying in {} ms)", e.what(), backoff_.count());
    next_connect_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
    return false;
  }
}

void StoreWriter::close_interrupted() {
  try {
    for (const auto id : store_->close_interrupted_sessions()) {
      spdlog::warn("session {} never finished (MS1 stopped or lost the database mid-session); recorded as interrupted",
                   id);
    }
  } catch (const StoreError& e) {
    // Bookkeeping only: the ring works without it, so a refusal is reported, not retried.
    spdlog::error("database: {}", e.what());
  }
}

std::optional<StoreOutcome> StoreWriter::refusal(const common::Message& message) {
  auto known = known_sessions_.find(message.session_id);
  if (known == known_sessions_.end()) {
    const auto bound = store_->id_bound(message.session_id);
    // Not kept: the session may be one that is about to be closed, and made-up ids are endless.
    if (!bound) return StoreOutcome::kUnknownSession;
    if (known_sessions_.size() >= options_.known_sessions_max) known_sessions_.clear();
    known = known_sessions_.emplace(message.session_id, *bound).first;
  }
  if (message.id < 1 || message.id > known->second) return StoreOutcome::kUnknownId;
  return std::nullopt;
}

template <typename Op>
void StoreWriter::with_retry(Op&& op) {
  // Two tries: a connection that dropped since the last job is re-opened once, right away.
  Attempt outcome = Attempt::kUnavailable;
  std::string error = "database unavailable";
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!ensure_connected(attempt > 0)) break;
    try {
      op.run();
      outcome = Attempt::kOk;
      break;
    } catch (const StoreUnavailable& e) {
      connected_.store(false);
      error = e.what();
      spdlog::warn("database connection lost: {}", error);
    } catch (const StoreError& e) {
      outcome = Attempt::kRejected;
      error = e.what();
      spdlog::error("database refused: {}", error);
      break;
    }
  }
  if (outcome == Attempt::kOk) {
    op.ok();
  } else {
    op.failed(outcome == Attempt::kRejected, error);
  }
}

void StoreWriter::write_batch(std::deque<Job>& batch) {
  if (std::holds_alternative<StoreJob>(batch.front())) {
    write_rows(batch);
  } else if (auto* begin = std::get_if<BeginJob>(&batch.front())) {
    write_begin(*begin);
  } else {
    write_finish(std::get<FinishJob>(batch.front()));
  }
}

void StoreWriter::write_rows(std::deque<Job>& jobs) {
  struct {
    StoreWriter* self;
    std::deque<Job>& jobs;
    std::vector<std::optional<StoreOutcome>> refused;  // by job: why it is left out, if it is
    std::vector<bool> inserted;                        // by row written: whether it was new
    void run() {
      // Checked again on a retry; the bounds found are kept, so that costs no second lookup.
      refused.assign(jobs.size(), std::nullopt);
      std::vector<StoreRow> rows;  // the jobs not refused, in order
      inserted.clear();
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        const auto& job = std::get<StoreJob>(jobs[i]);
        if (job.check == IdCheck::kSessions) refused[i] = self->refusal(job.row.message);
        if (!refused[i]) rows.push_back(job.row);
      }
      if (!rows.empty()) inserted = self->store_->store(rows);
    }
    void ok() { self->complete_rows(jobs, written_outcomes(refused, inserted)); }
    void failed(bool rejected, const std::string&) {
      if (rejected && jobs.size() > 1) return self->write_rows_alone(jobs);
      const auto outcome = rejected ? StoreOutcome::kRejected : StoreOutcome::kUnavailable;
      self->complete_rows(jobs, std::vector(jobs.size(), outcome));
    }
  } op{this, jobs, {}, {}};
  with_retry(op);
}

void StoreWriter::write_rows_alone(std::deque<Job>& jobs) {
  // One refused row fails its whole transaction; writing the rows one by one refuses only that
  // row, so the others are not rejected with it (MS3 commits past rejected ones).
  for (auto& job : jobs) {
    std::deque<Job> single;
    single.push_back(std::move(job));
    write_rows(single);
  }
}

void StoreWriter::complete_rows(std::deque<Job>& jobs, const std::vector<StoreOutcome>& outcomes) {
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    complete([done = std::move(std::get<StoreJob>(jobs[i]).done), outcome = outcomes[i]] { done(outcome); });
  }
}

void StoreWriter::write_begin(BeginJob& job) {
  struct {
    StoreWriter* self;
    BeginJob& job;
    std::int64_t id = 0;
    void run() { id = self->store_->begin_session(job.settings, job.started_at, job.clocks); }
    void ok() { self->complete([done = std::move(job.done), id = id] { done(id, {}); }); }
    void failed(bool, const std::string& error) {
      self->complete([done = std::move(job.done), error] { done(std::nullopt, error); });
    }
  } op{this, job};
  with_retry(op);
}

void StoreWriter::write_finish(FinishJob& job) {
  struct {
    StoreWriter* self;
    FinishJob& job;
    void run() { self->store_->finish_session(job.summary); }
    void ok() { self->complete([done = std::move(job.done)] { done({}); }); }
    void failed(bool, const std::string& error) {
      self->complete([done = std::move(job.done), error] { done(error); });
    }
  } op{this, job};
  with_retry(op);
}

void StoreWriter::run() {
  std::deque<Job> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mutex_);
      const auto ready = [this] { return stopping_ || !queue_.empty(); };
      if (connected_.load()) {
        wake_.wait(lock, ready);
      } else {
        // Wake up for the next reconnect attempt even when idle, so /healthz recovers by itself.
        wake_.wait_until(lock, next_connect_, ready);
      }
      if (stopping_ && queue_.empty()) break;
      if (!queue_.empty()) {
        const bool rows = std::holds_alternative<StoreJob>(queue_.front());
        do {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        } while (rows && !queue_.empty() && std::holds_alternative<StoreJob>(queue_.front()) &&
                 batch.size() < options_.batch_max);
      }
    }
    if (batch.empty()) {
      ensure_connected(false);
    } else {
      write_batch(batch);
    }
  }
}

}  // namespace ringtrace::ms1
