#pragma once
/// @file
/// A thread for blocking calls (the report queries), so they never hold up MS1's
/// event loop: jobs run one at a time, in order, from a bounded queue.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ringtrace::ms1 {

/// One worker thread with a bounded job queue. Jobs post their own completions wherever they
/// belong (MS1's event loop); the worker only runs them.
class BlockingWorker {
 public:
  /// Starts the thread; at most `queue_max` jobs wait (the running one not counted).
  explicit BlockingWorker(std::size_t queue_max) : queue_max_(queue_max), thread_([this] { run(); }) {}
  /// Runs what is queued, then joins.
  ~BlockingWorker() { stop(); }

  BlockingWorker(const BlockingWorker&) = delete;
  BlockingWorker& operator=(const BlockingWorker&) = delete;

  /// Queues `job`; false (and `job` dropped) when the queue is full or the worker stopping, so
  /// the caller answers "overloaded" instead of waiting without bound.
  bool post(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= queue_max_) return false;
      queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
  }

  /// Jobs waiting (for /metrics and tests).
  [[nodiscard]] std::size_t queue_depth() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

  /// Stops accepting jobs, runs the queued ones (each is bounded in time), and joins. Idempotent;
  /// not callable from a job.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  std::size_t queue_max_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;  ///< last: starts once everything above is ready
};

}  // namespace ringtrace::ms1
