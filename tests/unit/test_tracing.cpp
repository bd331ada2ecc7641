// Tracing: traceparent, spans, OTLP JSON, and the exporter against an in-process Beast "collector"
// on 127.0.0.1 (loopback only; nothing external needs to run).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"

using namespace ringtrace::common;
using namespace ringtrace::common::tracing;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

const std::string kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kSpan = "00f067aa0ba902b7";
const std::string kGood = "00-" + kTrace + "-" + kSpan + "-01";

bool is_lower_hex(const std::string& s, std::size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_decimal(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

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

  explicit Collector(Options options = {}) : options_(options), acceptor_(ioc_) {
    const tcp::endpoint where(net::ip::make_address("127.0.0.1"), options_.port);
    acceptor_.open(where.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(where);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Collector() {
    net::post(ioc_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    ioc_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }
  unsigned short port() const { return port_; }

  struct Post {
    std::string target;
    std::string content_type;
    std::string body;
  };
  std::vector<Post> posts() const {
    std::lock_guard lock(mutex_);
    return posts_;
  }
  int connections() const { return connections_.load(); }
  /// Spans received over all POSTs.
  std::size_t span_count() const {
    std::size_t n = 0;
    for (const auto& post : posts()) {
      n += json::parse(post.body).at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().size();
    }
    return n;
  }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket socket, Collector& owner) : stream(std::move(socket)), owner(owner) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    Collector& owner;

    void do_read() {
      request = {};
      http::async_read(stream, buffer, request, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return;
        self->on_read();
      });
    }
    void on_read() {
      {
        std::lock_guard lock(owner.mutex_);
        owner.posts_.push_back(Post{std::string(request.target()), std::string(request[http::field::content_type]),
                                    request.body()});
      }
      response = {static_cast<http::status>(owner.options_.status), 11};
      response.set(http::field::content_type, "application/json");
      response.body() = "{}";
      response.keep_alive(!owner.options_.close_after_each && request.keep_alive());
      response.prepare_payload();
      http::async_write(stream, response, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return;
        if (self->owner.options_.close_silently) {
          beast::error_code ignored;
          self->stream.socket().close(ignored);
          return;
        }
        if (!self->response.keep_alive()) {
          beast::error_code ignored;
          self->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
          return;
        }
        self->do_read();
      });
    }
  };

  void do_accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      ++connections_;
      std::make_shared<Session>(std::move(socket), *this)->do_read();
      do_accept();
    });
  }

  Options options_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Post> posts_;
  std::atomic<int> connections_{0};
};

/// A port that refuses connections: bound once, then released.
unsigned short closed_port() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

/// A listener that never accepts: connects complete in the kernel backlog, but nothing answers.
struct BlackHole {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/v1/traces"; }
};

TracingConfig exporter_config(const std::string& url, int batch_max = 512, int queue_max = 8192,
                              int flush_interval_ms = 60'000, int timeout_ms = 2000) {
  TracingConfig config;
  config.enabled = true;
  config.endpoint = url;
  config.batch_max = batch_max;
  config.queue_max = queue_max;
  config.flush_interval_ms = flush_interval_ms;
  config.timeout_ms = timeout_ms;
  return config;
}

/// Captures spdlog output for the test's lifetime (the default logger is swapped back after).
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)), previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::debug);
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::size_t count(const std::string& needle) const {
    const auto lines = sink_->last_formatted();
    return static_cast<std::size_t>(
        std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

// ---- Traceparent ------------------------------------------------------------------------------

TEST(Traceparent, ParsesTheW3cExample) {
  const auto context = parse_traceparent(kGood);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(to_hex(context->trace_id.data(), context->trace_id.size()), kTrace);
  EXPECT_EQ(to_hex(context->span_id.data(), context->span_id.size()), kSpan);
  EXPECT_TRUE(context->sampled);
  EXPECT_TRUE(context->valid());
}

TEST(Traceparent, RoundTripsSampledAndUnsampled) {
  auto context = *parse_traceparent(kGood);
  EXPECT_EQ(format_traceparent(context), kGood);
  context.sampled = false;
  const auto text = format_traceparent(context);
  EXPECT_EQ(text, "00-" + kTrace + "-" + kSpan + "-00");
  EXPECT_EQ(parse_traceparent(text), context);
}

TEST(Traceparent, SampledIsBitZeroOfTheFlags) {
  EXPECT_TRUE(parse_traceparent("00-" + kTrace + "-" + kSpan + "-03")->sampled);
  EXPECT_FALSE(parse_traceparent("00-" + kTrace + "-" + kSpan + "-02")->sampled);
}

TEST(Traceparent, RejectsMalformedHeaders) {
  const std::vector<std::string> bad = {
      "",
      kGood + "0",                                                   // too long
      kGood.substr(0, 54),                                           // too short
      kGood + "-00",                                                 // version 00 with extra fields
      "ff-" + kTrace + "-" + kSpan + "-01",                          // version ff is invalid
      "01-" + kTrace + "-" + kSpan + "-01",                          // only version 00 is accepted
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + kSpan + "-01",        // uppercase trace id
      "00-" + kTrace + "-00F067AA0BA902B7-01",                       // uppercase span id
      "00-" + kTrace + "-" + kSpan + "-0A",                          // uppercase flags
      "00-" + std::string(32, '0') + "-" + kSpan + "-01",            // zero trace id
      "00-" + kTrace + "-" + std::string(16, '0') + "-01",           // zero span id
      "00_" + kTrace + "-" + kSpan + "-01",                          // bad dashes
      "00-" + kTrace + "_" + kSpan + "-01",
      "00-" + kTrace + "-" + kSpan + "_01",
      "00-" + kTrace.substr(0, 31) + "-" + "-" + kSpan + "-01",      // dash inside the trace id
      "00-4bf92f3577b34da6a3ce929d0e0e473g-" + kSpan + "-01",        // non-hex
      "00-" + kTrace + "-00f067aa0ba902bz-01",
      "00-" + kTrace + "-" + kSpan + "-0x",
      "0g-" + kTrace + "-" + kSpan + "-01",
  };
  for (const auto& header : bad) EXPECT_FALSE(parse_traceparent(header).has_value()) << "accepted '" << header << "'";
}

TEST(Traceparent, ToHexIsLowercase) {
  const std::uint8_t bytes[] = {0x00, 0xab, 0xcd, 0xef, 0x10};
  EXPECT_EQ(to_hex(bytes, sizeof bytes), "00abcdef10");
}

// ---- Span -------------------------------------------------------------------------------------

TEST(Span, RootHasNewTraceAndNoParent) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  auto a = tracer.start_span("a", SpanKind::kServer);
  auto b = tracer.start_span("b", SpanKind::kServer);
  ASSERT_TRUE(a.recording());
  EXPECT_TRUE(a.context().valid());
  EXPECT_NE(a.context().trace_id, b.context().trace_id);
  EXPECT_NE(a.context().span_id, b.context().span_id);
  EXPECT_EQ(a.traceparent(), format_traceparent(a.context()));
  EXPECT_EQ(parse_traceparent(a.traceparent()), a.context());
}

TEST(Span, ChildLinksToParent) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms2");
  {
    auto parent = tracer.start_span("parent", SpanKind::kConsumer);
    auto child = tracer.start_span("child", SpanKind::kProducer, parent.context());
    EXPECT_EQ(child.context().trace_id, parent.context().trace_id);
    EXPECT_NE(child.context().span_id, parent.context().span_id);
    // From a remote parent carried in a traceparent header.
    auto remote = tracer.start_span("remote", SpanKind::kServer, parse_traceparent(kGood));
    EXPECT_EQ(to_hex(remote.context().trace_id.data(), 16), kTrace);
    // An invalid parent starts a new trace.
    auto orphan = tracer.start_span("orphan", SpanKind::kServer, SpanContext{});
    EXPECT_TRUE(orphan.context().valid());
  }
  tracer.flush();
  ASSERT_EQ(collector.span_count(), 4U);
  std::map<std::string, json::object> by_name;
  for (const auto& post : collector.posts()) {
    const auto doc = json::parse(post.body);
    for (const auto& span : doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array()) {
      by_name[std::string(span.at("name").as_string())] = span.as_object();
    }
  }
  const auto& parent = by_name.at("parent");
  const auto& child = by_name.at("child");
  EXPECT_FALSE(parent.contains("parentSpanId"));
  EXPECT_EQ(child.at("traceId"), parent.at("traceId"));
  EXPECT_EQ(child.at("parentSpanId"), parent.at("spanId"));
  EXPECT_EQ(by_name.at("remote").at("parentSpanId").as_string(), kSpan);
  EXPECT_FALSE(by_name.at("orphan").contains("parentSpanId"));
}

TEST(Span, DisabledTracerRecordsNothing) {
  Collector collector;
  auto config = exporter_config(collector.url());
  config.enabled = false;
  {
    Tracer tracer(config, "ms1");
    EXPECT_FALSE(tracer.enabled());
    auto span = tracer.start_span("x", SpanKind::kServer, parse_traceparent(kGood));
    EXPECT_FALSE(span.recording());
    EXPECT_FALSE(span.context().valid());
    EXPECT_EQ(span.traceparent(), "");
    span.set_attribute("k", std::int64_t{1});
    span.set_status(StatusCode::kError, "boom");
    span.end();
    tracer.flush();
    const auto stats = tracer.stats();
    EXPECT_EQ(stats.exported + stats.dropped + stats.failed, 0U);
  }
  EXPECT_TRUE(collector.posts().empty());
  EXPECT_EQ(collector.connections(), 0);
}

TEST(Span, DefaultSpanIsInert) {
  Span span;
  EXPECT_FALSE(span.recording());
  span.set_attribute("k", "v");
  span.end();
  span.end();
}

TEST(Span, MoveTransfersOwnershipAndEndsOnce) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  {
    auto a = tracer.start_span("moved", SpanKind::kInternal);
    const auto context = a.context();
    Span b(std::move(a));
    EXPECT_FALSE(a.recording());  // NOLINT(bugprone-use-after-move): moved-from is defined as inert
    EXPECT_TRUE(b.recording());
    EXPECT_EQ(b.context(), context);
    a.end();  // the moved-from span ends nothing

    Span c;
    c = std::move(b);
    EXPECT_EQ(c.context(), context);
    auto d = tracer.start_span("assigned-over", SpanKind::kInternal);
    d = std::move(c);  // "assigned-over" ends here, "moved" now lives in d
    EXPECT_EQ(d.context(), context);
    d.end();
    d.end();  // second end does nothing
    EXPECT_FALSE(d.recording());
  }
  tracer.flush();
  EXPECT_EQ(collector.span_count(), 2U);
  EXPECT_EQ(tracer.stats().exported, 2U);
}

TEST(Span, TimesAreWallClockAndOrdered) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  const auto before = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  tracer.start_span("t", SpanKind::kInternal).end();
  tracer.flush();
  ASSERT_EQ(collector.span_count(), 1U);
  const auto span = json::parse(collector.posts().at(0).body).at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
  const auto start = std::stoull(std::string(span.at("startTimeUnixNano").as_string()));
  const auto end = std::stoull(std::string(span.at("endTimeUnixNano").as_string()));
  EXPECT_GE(start, before);
  EXPECT_GE(end, start);
  EXPECT_LT(end - before, 60ULL * 1'000'000'000ULL);
}

// ---- OtlpJson ---------------------------------------------------------------------------------

namespace {

SpanData sample_span(bool root) {
  SpanData span;
  span.context = *parse_traceparent(kGood);
  if (!root) span.parent = parse_traceparent("00-" + kTrace + "-1111111111111111-01")->span_id;
  span.name = root ? "root \"quoted\"\n\\" : "kafka produce";
  span.kind = root ? SpanKind::kServer : SpanKind::kProducer;
  span.start_unix_ns = 1'700'000'000'123'456'789ULL;
  span.end_unix_ns = 1'700'000'000'223'456'789ULL;
  span.attributes = {{"messaging.system", std::string("kafka")},
                     {"messaging.kafka.offset", std::int64_t{-9'007'199'254'740'993}},
                     {"ok", true},
                     {"ratio", 0.5}};
  if (!root) span.status = StatusCode::kOk;
  if (root) {
    span.status = StatusCode::kError;
    span.status_message = "db \"down\"";
  }
  return span;
}

}  // namespace

TEST(OtlpJson, ResourceAndScopeShape) {
  const auto doc = json::parse(to_otlp_json("ms1", {sample_span(true)}));
  const auto& rs = doc.at("resourceSpans").as_array();
  ASSERT_EQ(rs.size(), 1U);
  const auto& attrs = rs.at(0).at("resource").at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 1U);
  EXPECT_EQ(attrs.at(0).at("key").as_string(), "service.name");
  EXPECT_EQ(attrs.at(0).at("value").at("stringValue").as_string(), "ms1");
  const auto& ss = rs.at(0).at("scopeSpans").as_array();
  ASSERT_EQ(ss.size(), 1U);
  EXPECT_EQ(ss.at(0).at("scope").at("name").as_string(), "ringtrace");
  EXPECT_EQ(ss.at(0).at("spans").as_array().size(), 1U);
}

TEST(OtlpJson, SpanFieldsAndTypes) {
  const auto doc = json::parse(to_otlp_json("ms2", {sample_span(true), sample_span(false)}));
  const auto& spans = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array();
  ASSERT_EQ(spans.size(), 2U);
  for (const auto& value : spans) {
    const auto& span = value.as_object();
    ASSERT_TRUE(span.at("traceId").is_string());
    EXPECT_TRUE(is_lower_hex(std::string(span.at("traceId").as_string()), 32));
    EXPECT_EQ(span.at("traceId").as_string(), kTrace);
    EXPECT_TRUE(is_lower_hex(std::string(span.at("spanId").as_string()), 16));
    ASSERT_TRUE(span.at("kind").is_int64());
    ASSERT_TRUE(span.at("startTimeUnixNano").is_string());
    ASSERT_TRUE(span.at("endTimeUnixNano").is_string());
    EXPECT_EQ(span.at("startTimeUnixNano").as_string(), "1700000000123456789");
    EXPECT_EQ(span.at("endTimeUnixNano").as_string(), "1700000000223456789");
    EXPECT_TRUE(is_decimal(std::string(span.at("startTimeUnixNano").as_string())));

    const auto& attrs = span.at("attributes").as_array();
    ASSERT_EQ(attrs.size(), 4U);
    EXPECT_EQ(attrs.at(0).at("key").as_string(), "messaging.system");
    EXPECT_EQ(attrs.at(0).at("value").at("stringValue").as_string(), "kafka");
    ASSERT_TRUE(attrs.at(1).at("value").at("intValue").is_string());
    EXPECT_EQ(attrs.at(1).at("value").at("intValue").as_string(), "-9007199254740993");
    EXPECT_EQ(attrs.at(2).at("value").at("boolValue").as_bool(), true);
    EXPECT_DOUBLE_EQ(attrs.at(3).at("value").at("doubleValue").to_number<double>(), 0.5);
    for (const auto& attr : attrs) EXPECT_EQ(attr.at("value").as_object().size(), 1U);
  }
  const auto& root = spans.at(0).as_object();
  const auto& child = spans.at(1).as_object();
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(child.at("parentSpanId").as_string(), "1111111111111111");
  EXPECT_EQ(root.at("name").as_string(), "root \"quoted\"\n\\");  // escaped on the wire, intact here
  EXPECT_EQ(root.at("kind").as_int64(), 2);
  EXPECT_EQ(child.at("kind").as_int64(), 4);
  EXPECT_EQ(root.at("status").at("code").as_int64(), 2);
  EXPECT_EQ(root.at("status").at("message").as_string(), "db \"down\"");
  EXPECT_EQ(child.at("status").at("code").as_int64(), 1);
  EXPECT_FALSE(child.at("status").as_object().contains("message"));
}

TEST(OtlpJson, NonFiniteDoublesStayValidJson) {
  SpanData span = sample_span(true);
  span.attributes = {{"nan", std::nan("")}, {"inf", HUGE_VAL}};
  const auto doc = json::parse(to_otlp_json("ms1", {span}));
  const auto& attrs = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).at("attributes");
  EXPECT_EQ(attrs.at(0).at("value").at("doubleValue").as_string(), "NaN");
  EXPECT_EQ(attrs.at(1).at("value").at("doubleValue").as_string(), "Infinity");
}

TEST(OtlpJson, EmptyBatchIsValid) {
  const auto doc = json::parse(to_otlp_json("ms3", {}));
  EXPECT_TRUE(doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().empty());
}

// ---- Exporter ---------------------------------------------------------------------------------

TEST(Exporter, FlushSendsBatchesOfAtMostBatchMax) {
  Collector collector;
  constexpr int kSpans = 10;
  constexpr int kBatch = 4;
  Tracer tracer(exporter_config(collector.url(), kBatch), "ms1");
  for (int i = 0; i < kSpans; ++i) tracer.start_span("s" + std::to_string(i), SpanKind::kInternal).end();
  tracer.flush();
  const auto posts = collector.posts();
  EXPECT_EQ(posts.size(), static_cast<std::size_t>((kSpans + kBatch - 1) / kBatch));
  EXPECT_EQ(collector.span_count(), static_cast<std::size_t>(kSpans));
  std::set<std::string> names;
  for (const auto& post : posts) {
    EXPECT_EQ(post.target, "/v1/traces");
    EXPECT_EQ(post.content_type, "application/json");
    const auto doc = json::parse(post.body);
    EXPECT_EQ(doc.at("resourceSpans").at(0).at("resource").at("attributes").at(0).at("value").at("stringValue").as_string(),
              "ms1");
    const auto& spans = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array();
    EXPECT_LE(spans.size(), static_cast<std::size_t>(kBatch));
    for (const auto& span : spans) names.insert(std::string(span.at("name").as_string()));
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kSpans));
  EXPECT_EQ(tracer.stats().exported, static_cast<std::uint64_t>(kSpans));
  EXPECT_EQ(tracer.stats().dropped, 0U);
  EXPECT_EQ(collector.connections(), 1);  // kept alive across POSTs
}

TEST(Exporter, PartialBatchGoesOutAfterTheFlushInterval) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url(), 512, 8192, /*flush_interval_ms=*/50), "ms1");
  tracer.start_span("lonely", SpanKind::kInternal).end();
  EXPECT_TRUE(wait_for([&] { return collector.span_count() == 1; }));
  EXPECT_TRUE(wait_for([&] { return tracer.stats().exported == 1; }));
}

TEST(Exporter, SpansAreFlushedAtTracerDestruction) {
  Collector collector;
  {
    Tracer tracer(exporter_config(collector.url()), "ms3");
    for (int i = 0; i < 3; ++i) tracer.start_span("last words", SpanKind::kInternal).end();
  }
  EXPECT_EQ(collector.span_count(), 3U);
}

TEST(Exporter, ReconnectsWhenTheCollectorClosesTheConnection) {
  Collector::Options options;
  options.close_after_each = true;
  Collector collector(options);
  Tracer tracer(exporter_config(collector.url()), "ms1");
  for (int i = 0; i < 3; ++i) {
    tracer.start_span("s", SpanKind::kInternal).end();
    tracer.flush();
  }
  EXPECT_EQ(collector.span_count(), 3U);
  EXPECT_EQ(tracer.stats().exported, 3U);
  EXPECT_EQ(tracer.stats().failed, 0U);
  EXPECT_EQ(collector.connections(), 3);
}

TEST(Exporter, ReconnectsWhenTheCollectorDroppedAKeptConnection) {
  Collector::Options options;
  options.close_silently = true;
  Collector collector(options);
  Tracer tracer(exporter_config(collector.url()), "ms1");
  for (int i = 0; i < 3; ++i) {
    tracer.start_span("s", SpanKind::kInternal).end();
    tracer.flush();
    ASSERT_TRUE(wait_for([&] { return collector.span_count() == static_cast<std::size_t>(i + 1); }));
  }
  EXPECT_EQ(tracer.stats().exported, 3U);
  EXPECT_EQ(tracer.stats().failed, 0U);
  EXPECT_EQ(collector.span_count(), 3U);  // no duplicates from the reconnect
}

TEST(Exporter, NonSuccessStatusCountsFailed) {
  Collector::Options options;
  options.status = 503;
  Collector collector(options);
  Tracer tracer(exporter_config(collector.url(), 2), "ms1");
  for (int i = 0; i < 5; ++i) tracer.start_span("s", SpanKind::kInternal).end();
  tracer.flush();
  EXPECT_EQ(collector.posts().size(), 3U);  // no retries
  EXPECT_EQ(tracer.stats().failed, 5U);
  EXPECT_EQ(tracer.stats().exported, 0U);
}

TEST(Exporter, UnreachableCollectorIsLoggedOnceAndRecoveryOnce) {
  LogCapture logs;
  const auto port = closed_port();
  const auto url = "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
  Tracer tracer(exporter_config(url, 1), "ms1");
  for (int i = 0; i < 5; ++i) {
    tracer.start_span("s", SpanKind::kInternal).end();
    tracer.flush();
  }
  EXPECT_EQ(tracer.stats().failed, 5U);
  EXPECT_EQ(logs.count("cannot reach " + url), 1U);
  EXPECT_EQ(logs.count("spans are dropped until it answers"), 1U);

  Collector::Options options;
  options.port = port;
  Collector collector(options);
  for (int i = 0; i < 3; ++i) {
    tracer.start_span("s", SpanKind::kInternal).end();
    tracer.flush();
  }
  EXPECT_EQ(collector.span_count(), 3U);
  EXPECT_EQ(tracer.stats().exported, 3U);
  EXPECT_EQ(logs.count("answers again"), 1U);
  EXPECT_EQ(logs.count("cannot reach"), 1U);
}

TEST(Exporter, FullQueueDropsWithoutBlockingTheCaller) {
  BlackHole hole;  // accepts TCP in the kernel, never answers: every POST hangs until its timeout
  constexpr int kQueue = 16;
  constexpr int kBurst = 10'000;
  const auto started = std::chrono::steady_clock::now();
  {
    Tracer tracer(exporter_config(hole.url(), /*batch_max=*/4, kQueue, /*flush_interval_ms=*/1, /*timeout_ms=*/300), "ms1");
    const auto burst_start = std::chrono::steady_clock::now();
    for (int i = 0; i < kBurst; ++i) tracer.start_span("burst", SpanKind::kProducer).end();
    const auto burst = std::chrono::steady_clock::now() - burst_start;
    EXPECT_LT(burst, 1s) << "finish() blocked";
    const auto stats = tracer.stats();
    // At most the queue plus the batches the exporter managed to take can have been accepted.
    EXPECT_GE(stats.dropped, static_cast<std::uint64_t>(kBurst - kQueue - 4 * 10));
    EXPECT_LE(stats.dropped, static_cast<std::uint64_t>(kBurst - kQueue));
    EXPECT_EQ(stats.exported, 0U);
  }
  // Destruction is bounded by the flush limit (timeout + a little) plus the abandoned POST.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(Exporter, UnreachableCollectorKeepsSpansFromPilingUp) {
  const auto url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/v1/traces";
  Tracer tracer(exporter_config(url, 8, 64, /*flush_interval_ms=*/5, /*timeout_ms=*/200), "ms1");
  for (int i = 0; i < 100; ++i) tracer.start_span("s", SpanKind::kInternal).end();
  tracer.flush();
  const auto stats = tracer.stats();
  EXPECT_EQ(stats.exported, 0U);
  EXPECT_EQ(stats.failed + stats.dropped, 100U);
}
