#pragma once
/// @file
/// What the tracing test files share: the W3C example context, a sample span, an exporter
/// configuration, an OTLP collector on the one fake HTTP server, and a log capture.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/test/fake_http_server.hpp"

namespace tracing_test {

inline const std::string kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";  ///< the W3C example's trace id
inline const std::string kSpan = "00f067aa0ba902b7";                   ///< and its parent id
inline const std::string kGood = "00-" + kTrace + "-" + kSpan + "-01";  ///< the whole header

/// A span like the ring's: a root (server, error status, escaped name) or a child (producer, ok).
ringtrace::common::tracing::SpanData sample_span(bool root);

/// An enabled tracing configuration sending to `url`, with the knobs the tests turn.
ringtrace::common::TracingConfig exporter_config(
    const std::string& url, int batch_max = 512, int queue_max = 8192, int flush_interval_ms = 60'000,
    int timeout_ms = 2000,
    ringtrace::common::TracingProtocol protocol = ringtrace::common::TracingProtocol::kHttpProtobuf);

/// How the test collector behaves.
struct CollectorOptions {
  unsigned status = 200;
  bool close_after_each = false;  // answer "Connection: close" and close
  bool close_silently = false;    // answer keep-alive, then close anyway (an idle-timeout close)
  unsigned short port = 0;        // 0: any free port
};

/// A minimal OTLP collector: records POST bodies, answers with a configurable status.
class Collector {
 public:
  using Options = CollectorOptions;
  using Post = ringtrace::test::ReceivedRequest;  ///< target, content_type and body of one POST

  explicit Collector(Options options = {});
  /// Answers anything still held, so the server's thread can stop.
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  /// Leaves every POST unanswered until release(), as a collector that hangs does: the exporter
  /// sits in one send meanwhile, for as long as the test needs and no longer.
  void hold();
  /// Answers the held POST, and every later one at once, with the configured status.
  void release();

  /// Its OTLP traces endpoint.
  std::string url() const { return server_.url("/v1/traces"); }
  /// The bound port.
  unsigned short port() const { return server_.port(); }
  /// Every POST so far.
  std::vector<Post> posts() const { return server_.requests(); }
  /// Connections accepted.
  int connections() const { return static_cast<int>(server_.connections()); }
  /// Spans received over all POSTs, in either encoding.
  std::size_t span_count() const;
  /// The names of the spans in one POST, in either encoding (by its Content-Type).
  static std::vector<std::string> span_names(const Post& post);
  /// The service.name of one POST, in either encoding.
  static std::string service_of(const Post& post);

 private:
  /// Whether answers may go out; shared with the responder that waits on it (server thread).
  struct Gate {
    std::mutex mutex;                  ///< guards open
    std::condition_variable opened;    ///< signalled by release()
    bool open = true;                  ///< false while hold() keeps answers back
  };

  unsigned status_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  ringtrace::test::FakeHttpServer server_;  ///< last: its thread may use the gate until it stops
};

/// Captures spdlog output for the test's lifetime (the default logger is swapped back after).
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  /// Lines containing `needle`.
  std::size_t count(const std::string& needle) const;

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace tracing_test
