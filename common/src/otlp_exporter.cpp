#include "ringtrace/common/otlp_exporter.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/endpoint.hpp"

namespace ringtrace::common::tracing {

namespace detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

/// What one POST came to: a transport error, or the HTTP status the collector answered.
struct PostResult {
  boost::system::error_code ec;  ///< set when no response arrived
  unsigned status = 0;           ///< HTTP status when `ec` is clear
};

/// One kept-alive HTTP/1.1 connection to the collector, driven synchronously from the exporter
/// thread: each POST runs Beast async ops on a private io_context with run_for, under a deadline.
class OtlpHttpClient {
 public:
  OtlpHttpClient(Endpoint endpoint, std::chrono::milliseconds timeout, const std::atomic<bool>& abort)
      : endpoint_(std::move(endpoint)), timeout_(timeout), abort_(abort) {}

  /// POSTs `body`; reconnects once when a reused connection turned out closed. `body` is
  /// borrowed and handed back unchanged, its capacity kept for the next batch.
  PostResult post(std::string_view content_type, std::string& body) {
    http::request<http::string_body> request{http::verb::post, endpoint_.target, 11};
    request.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
    request.set(http::field::user_agent, "ringtrace-otlp");
    request.set(http::field::content_type, content_type);
    request.keep_alive(true);
    request.body().swap(body);
    request.prepare_payload();

    const bool reused = stream_.has_value();
    PostResult result = attempt(request);
    // A kept-alive connection the collector closed while idle fails on first use; that is not a
    // collector failure, so try once on a fresh connection (a timeout is not retried).
    if (result.ec && reused && result.ec != beast::error::timeout && !abort_.load()) result = attempt(request);
    body.swap(request.body());
    return result;
  }

 private:
  static constexpr std::size_t kBodyLimit = 64 * 1024;  // OTLP answers are tiny
  static constexpr auto kSlice = std::chrono::milliseconds(20);  // how often abort_ is checked

  PostResult attempt(const http::request<http::string_body>& request) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    PostResult result;
    bool done = false;
    std::optional<http::response_parser<http::string_body>> parser;
    parser.emplace();
    parser->body_limit(kBodyLimit);

    auto finish = [&](boost::system::error_code ec) {
      if (!result.ec) result.ec = ec;  // keep a timeout noted below over the abort it causes
      done = true;
    };
    auto on_read = [&](beast::error_code ec, std::size_t) {
      if (ec) return finish(ec);
      result.status = parser->get().result_int();
      keep_ = parser->get().keep_alive();
      finish({});
    };
    auto on_write = [&](beast::error_code ec, std::size_t) {
      if (ec) return finish(ec);
      stream_->expires_at(deadline);
      http::async_read(*stream_, buffer_, *parser, on_read);
    };
    auto do_write = [&] {
      stream_->expires_at(deadline);
      http::async_write(*stream_, request, on_write);
    };
    auto on_connect = [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return finish(ec);
      do_write();
    };
    auto on_resolve = [&](beast::error_code ec, const tcp::resolver::results_type& results) {
      if (ec) return finish(ec);
      stream_->expires_at(deadline);
      stream_->async_connect(results, on_connect);
    };

    ioc_.restart();
    if (stream_) {
      do_write();
    } else {
      stream_.emplace(ioc_);
      buffer_.clear();
      resolver_.async_resolve(endpoint_.host, endpoint_.port, on_resolve);
    }
    // Every operation above refers to locals, so run until the chain has ended, whatever happens.
    bool cancelled = false;
    while (!done) {
      // The stream's timer ends connect/write/read at `deadline`; this also bounds the resolve.
      if (!cancelled && (abort_.load() || std::chrono::steady_clock::now() >= deadline + kSlice)) {
        resolver_.cancel();
        beast::error_code ignored;
        stream_->socket().close(ignored);
        cancelled = true;
        if (!abort_.load()) result.ec = beast::error::timeout;
      }
      ioc_.run_for(kSlice);
      if (ioc_.stopped() && !done) {  // out of work without completing: cannot happen, but never spin
        finish(net::error::operation_aborted);
      }
    }
    if (result.ec || !keep_) close();
    return result;
  }

  void close() {
    if (stream_) {
      beast::error_code ignored;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->socket().close(ignored);
    }
    stream_.reset();
    buffer_.clear();
    keep_ = true;
  }

  const Endpoint endpoint_;
  const std::chrono::milliseconds timeout_;
  const std::atomic<bool>& abort_;
  net::io_context ioc_{1};
  tcp::resolver resolver_{ioc_};
  std::optional<beast::tcp_stream> stream_;  // engaged while a connection is kept
  beast::flat_buffer buffer_;
  bool keep_ = true;  // the last response allowed keep-alive
};

}  // namespace detail

namespace {

std::string describe(const detail::PostResult& result) {
  if (result.ec) return result.ec.message();
  return "HTTP " + std::to_string(result.status);
}

}  // namespace

Exporter::Exporter(const TracingConfig& config, std::string service)
    : service_(std::move(service)),
      url_(config.endpoint),
      protocol_(config.protocol),
      queue_max_(static_cast<std::size_t>(std::max(config.queue_max, 1))),
      batch_max_(static_cast<std::size_t>(std::max(config.batch_max, 1))),
      flush_interval_(std::max(config.flush_interval_ms, 1)),
      timeout_(std::max(config.timeout_ms, 1)),
      client_(std::make_unique<detail::OtlpHttpClient>(parse_endpoint(config.endpoint, "http", "tracing.endpoint"),
                                                       timeout_, abort_)),
      thread_([this] { run(); }) {}

Exporter::~Exporter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  abort_.store(true);
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Exporter::enqueue(std::unique_ptr<SpanData> span) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= queue_max_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;  // `span` is freed outside the lock
    }
    queue_.push_back(std::move(span));
    ++accepted_;
    wake = queue_.size() == batch_max_;  // wake once per full batch, not per span
  }
  if (wake) wake_.notify_one();
}

void Exporter::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = accepted_;
  if (handled_ >= target) return;
  flush_target_ = std::max(flush_target_, target);
  wake_.notify_one();
  // Bounded: one POST's time limit plus a little; more batches than that fit are left to the thread.
  done_.wait_for(lock, timeout_ + std::chrono::milliseconds(500), [&] { return handled_ >= target || stop_; });
}

TracerStats Exporter::stats() const {
  TracerStats stats;
  stats.exported = exported_.load(std::memory_order_relaxed);
  stats.dropped = dropped_.load(std::memory_order_relaxed);
  stats.failed = failed_.load(std::memory_order_relaxed);
  return stats;
}

void Exporter::run() {
  batch_.reserve(batch_max_);
  std::unique_lock lock(mutex_);
  auto next_send = std::chrono::steady_clock::now() + flush_interval_;
  while (!stop_) {
    wake_.wait_until(lock, next_send, [&] {
      return stop_ || queue_.size() >= batch_max_ || (taken_ < flush_target_ && !queue_.empty());
    });
    if (stop_) break;
    if (queue_.empty()) {
      next_send = std::chrono::steady_clock::now() + flush_interval_;
      continue;
    }
    // A full batch, a flush, or the interval is up: take what is there, up to batch_max.
    const std::size_t n = std::min(queue_.size(), batch_max_);
    const auto end = queue_.begin() + static_cast<std::ptrdiff_t>(n);
    std::move(queue_.begin(), end, std::back_inserter(batch_));  // pointers only; spans stay put
    queue_.erase(queue_.begin(), end);
    taken_ += n;
    lock.unlock();

    send(batch_);
    batch_.clear();  // frees the spans, outside the lock

    lock.lock();
    handled_ += n;
    done_.notify_all();
    next_send = std::chrono::steady_clock::now() + flush_interval_;
  }
  // Stopping: what is left was not flushed in time; it is abandoned (best-effort tracing).
  if (!queue_.empty()) spdlog::debug("tracing: {} spans abandoned at shutdown", queue_.size());
  queue_.clear();
  done_.notify_all();
}

void Exporter::send(const std::vector<std::unique_ptr<SpanData>>& batch) {
  body_.clear();
  std::string_view content_type;
  if (protocol_ == TracingProtocol::kHttpJson) {
    append_otlp_json(body_, service_, batch);
    content_type = "application/json";
  } else {
    append_otlp_protobuf(body_, service_, batch);
    content_type = "application/x-protobuf";
  }
  const detail::PostResult result = client_->post(content_type, body_);
  const bool ok = !result.ec && result.status >= 200 && result.status < 300;
  if (ok) {
    exported_.fetch_add(batch.size(), std::memory_order_relaxed);
  } else {
    failed_.fetch_add(batch.size(), std::memory_order_relaxed);
  }
  if (abort_.load()) return;  // shutting down: not a collector problem

  // One line per change of health, never one per batch.
  const Health now = ok ? Health::kUp : result.ec ? Health::kUnreachable : Health::kRejecting;
  if (now == health_) return;
  if (now == Health::kUnreachable) {
    spdlog::warn("tracing: cannot reach {}: {}; spans are dropped until it answers", url_, describe(result));
  } else if (now == Health::kRejecting) {
    spdlog::warn("tracing: {} rejects spans: {}; spans are dropped until it accepts them", url_, describe(result));
  } else if (health_ != Health::kUnknown) {
    spdlog::info("tracing: {} answers again; exporting spans", url_);
  }
  health_ = now;
}

}  // namespace ringtrace::common::tracing
