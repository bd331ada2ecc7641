// Tracing: traceparent, spans, OTLP JSON and protobuf, and the exporter against an in-process Beast
// "collector" on 127.0.0.1 (loopback only; nothing external needs to run). Protobuf bodies are
// checked with a small decoder written here from the wire format, independent of the encoder.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
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

// ---- A protobuf decoder for the tests --------------------------------------------------------

/// One field of a protobuf message as the wire has it.
struct WireField {
  std::uint32_t number = 0;
  std::uint32_t wire = 0;   // 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
  std::uint64_t value = 0;  // varint, fixed64 or fixed32
  std::string_view bytes;   // length-delimited
};

/// Walks the fields of one message. Throws on anything malformed (truncation, unknown wire types,
/// varints longer than needed), so a broken encoder fails the test that reads its output.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool next(WireField& field) {
    if (pos_ == data_.size()) return false;
    const std::uint64_t key = varint();
    field = WireField{};
    field.number = static_cast<std::uint32_t>(key >> 3);
    field.wire = static_cast<std::uint32_t>(key & 0x07U);
    if (field.number == 0) throw std::runtime_error("field number 0");
    switch (field.wire) {
      case 0: field.value = varint(); break;
      case 1: field.value = fixed(8); break;
      case 2: {
        const std::uint64_t size = varint();
        if (size > data_.size() - pos_) throw std::runtime_error("length past the end");
        field.bytes = data_.substr(pos_, static_cast<std::size_t>(size));
        pos_ += static_cast<std::size_t>(size);
        break;
      }
      case 5: field.value = fixed(4); break;
      default: throw std::runtime_error("wire type " + std::to_string(field.wire));
    }
    return true;
  }

 private:
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (unsigned shift = 0, n = 1; n <= 10; shift += 7, ++n) {
      if (pos_ == data_.size()) throw std::runtime_error("truncated varint");
      const auto byte = static_cast<std::uint8_t>(data_[pos_++]);
      value |= std::uint64_t{byte & 0x7fU} << shift;
      if ((byte & 0x80U) == 0) {
        if (byte == 0 && n > 1) throw std::runtime_error("varint longer than needed");
        return value;
      }
    }
    throw std::runtime_error("varint longer than 10 bytes");
  }

  std::uint64_t fixed(std::size_t size) {
    if (size > data_.size() - pos_) throw std::runtime_error("truncated fixed field");
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i) {
      value |= std::uint64_t{static_cast<std::uint8_t>(data_[pos_ + i])} << (8 * i);
    }
    pos_ += size;
    return value;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
};

void expect_wire(const WireField& field, std::uint32_t wire, const char* what) {
  if (field.wire != wire) {
    throw std::runtime_error(std::string(what) + ": field " + std::to_string(field.number) + " has wire type " +
                             std::to_string(field.wire));
  }
}

[[noreturn]] void unexpected(const WireField& field, const char* what) {
  throw std::runtime_error(std::string(what) + ": unexpected field " + std::to_string(field.number));
}

/// An AnyValue: which member of the oneof was present, and its value.
struct DecodedValue {
  std::uint32_t member = 0;  // 1 string, 2 bool, 3 int, 4 double; 0 none
  std::string text;
  bool flag = false;
  std::int64_t integer = 0;
  double real = 0;
};

using DecodedAttributes = std::vector<std::pair<std::string, DecodedValue>>;

struct DecodedSpan {
  std::string trace_id;        // lowercase hex of the bytes
  std::string span_id;
  std::optional<std::string> parent_span_id;
  std::string name;
  std::uint64_t kind = 0;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  DecodedAttributes attributes;
  std::uint64_t dropped_attributes = 0;
  bool has_status = false;
  std::uint64_t status_code = 0;
  std::string status_message;
};

struct DecodedRequest {
  std::size_t resource_spans = 0;
  std::size_t scope_spans = 0;
  DecodedAttributes resource_attributes;
  std::string scope_name;
  std::vector<DecodedSpan> spans;
};

std::string hex(std::string_view bytes) {
  return to_hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

DecodedValue decode_any_value(std::string_view data) {
  DecodedValue value;
  WireReader reader(data);
  WireField f;
  while (reader.next(f)) {
    if (value.member != 0) throw std::runtime_error("AnyValue: more than one member");
    value.member = f.number;
    switch (f.number) {
      case 1: expect_wire(f, 2, "AnyValue.string_value"); value.text = std::string(f.bytes); break;
      case 2: expect_wire(f, 0, "AnyValue.bool_value"); value.flag = f.value != 0; break;
      case 3: expect_wire(f, 0, "AnyValue.int_value"); value.integer = static_cast<std::int64_t>(f.value); break;
      case 4: expect_wire(f, 1, "AnyValue.double_value"); value.real = std::bit_cast<double>(f.value); break;
      default: unexpected(f, "AnyValue");
    }
  }
  return value;
}

std::pair<std::string, DecodedValue> decode_key_value(std::string_view data) {
  std::pair<std::string, DecodedValue> out;
  WireReader reader(data);
  WireField f;
  while (reader.next(f)) {
    if (f.number == 1) {
      expect_wire(f, 2, "KeyValue.key");
      out.first = std::string(f.bytes);
    } else if (f.number == 2) {
      expect_wire(f, 2, "KeyValue.value");
      out.second = decode_any_value(f.bytes);
    } else {
      unexpected(f, "KeyValue");
    }
  }
  return out;
}

DecodedSpan decode_span(std::string_view data) {
  DecodedSpan span;
  WireReader reader(data);
  WireField f;
  while (reader.next(f)) {
    switch (f.number) {
      case 1: expect_wire(f, 2, "Span.trace_id"); span.trace_id = hex(f.bytes); break;
      case 2: expect_wire(f, 2, "Span.span_id"); span.span_id = hex(f.bytes); break;
      case 4: expect_wire(f, 2, "Span.parent_span_id"); span.parent_span_id = hex(f.bytes); break;
      case 5: expect_wire(f, 2, "Span.name"); span.name = std::string(f.bytes); break;
      case 6: expect_wire(f, 0, "Span.kind"); span.kind = f.value; break;
      case 7: expect_wire(f, 1, "Span.start_time_unix_nano"); span.start = f.value; break;
      case 8: expect_wire(f, 1, "Span.end_time_unix_nano"); span.end = f.value; break;
      case 9: expect_wire(f, 2, "Span.attributes"); span.attributes.push_back(decode_key_value(f.bytes)); break;
      case 10: expect_wire(f, 0, "Span.dropped_attributes_count"); span.dropped_attributes = f.value; break;
      case 15: {
        expect_wire(f, 2, "Span.status");
        span.has_status = true;
        WireReader status(f.bytes);
        WireField g;
        while (status.next(g)) {
          if (g.number == 2) {
            expect_wire(g, 2, "Status.message");
            span.status_message = std::string(g.bytes);
          } else if (g.number == 3) {
            expect_wire(g, 0, "Status.code");
            span.status_code = g.value;
          } else {
            unexpected(g, "Status");
          }
        }
        break;
      }
      default: unexpected(f, "Span");
    }
  }
  return span;
}

/// An ExportTraceServiceRequest (resource_spans → resource, scope_spans → scope, spans).
DecodedRequest decode_request(std::string_view body) {
  DecodedRequest request;
  WireReader top(body);
  WireField f;
  while (top.next(f)) {
    if (f.number != 1) unexpected(f, "ExportTraceServiceRequest");
    expect_wire(f, 2, "ExportTraceServiceRequest.resource_spans");
    ++request.resource_spans;
    WireReader resource_spans(f.bytes);
    WireField g;
    while (resource_spans.next(g)) {
      expect_wire(g, 2, "ResourceSpans");
      if (g.number == 1) {  // resource
        WireReader resource(g.bytes);
        WireField h;
        while (resource.next(h)) {
          if (h.number != 1) unexpected(h, "Resource");
          expect_wire(h, 2, "Resource.attributes");
          request.resource_attributes.push_back(decode_key_value(h.bytes));
        }
      } else if (g.number == 2) {  // scope_spans
        ++request.scope_spans;
        WireReader scope_spans(g.bytes);
        WireField h;
        while (scope_spans.next(h)) {
          expect_wire(h, 2, "ScopeSpans");
          if (h.number == 1) {
            WireReader scope(h.bytes);
            WireField i;
            while (scope.next(i)) {
              if (i.number != 1) unexpected(i, "InstrumentationScope");
              expect_wire(i, 2, "InstrumentationScope.name");
              request.scope_name = std::string(i.bytes);
            }
          } else if (h.number == 2) {
            request.spans.push_back(decode_span(h.bytes));
          } else {
            unexpected(h, "ScopeSpans");
          }
        }
      } else {
        unexpected(g, "ResourceSpans");
      }
    }
  }
  return request;
}

/// The service.name resource attribute of a decoded request ("" when absent).
std::string service_name(const DecodedRequest& request) {
  for (const auto& [key, value] : request.resource_attributes) {
    if (key == "service.name" && value.member == 1) return value.text;
  }
  return {};
}

/// The attribute `key` of `span`; throws when absent.
const DecodedValue& attribute(const DecodedSpan& span, const std::string& key) {
  for (const auto& [k, v] : span.attributes) {
    if (k == key) return v;
  }
  throw std::runtime_error("no attribute " + key);
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
  /// Spans received over all POSTs, in either encoding.
  std::size_t span_count() const {
    std::size_t n = 0;
    for (const auto& post : posts()) n += span_names(post).size();
    return n;
  }
  /// The names of the spans in one POST, in either encoding (by its Content-Type).
  static std::vector<std::string> span_names(const Post& post) {
    std::vector<std::string> names;
    if (post.content_type == "application/x-protobuf") {
      for (const auto& span : decode_request(post.body).spans) names.push_back(span.name);
    } else {
      const auto doc = json::parse(post.body);
      for (const auto& span : doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array()) {
        names.emplace_back(span.at("name").as_string());
      }
    }
    return names;
  }
  /// The service.name of one POST, in either encoding.
  static std::string service_of(const Post& post) {
    if (post.content_type == "application/x-protobuf") return service_name(decode_request(post.body));
    const auto doc = json::parse(post.body);
    const auto& resource = doc.at("resourceSpans").at(0).at("resource");
    return std::string(resource.at("attributes").at(0).at("value").at("stringValue").as_string());
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
                              int flush_interval_ms = 60'000, int timeout_ms = 2000,
                              TracingProtocol protocol = TracingProtocol::kHttpProtobuf) {
  TracingConfig config;
  config.enabled = true;
  config.endpoint = url;
  config.protocol = protocol;
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
  std::map<std::string, DecodedSpan> by_name;
  for (const auto& post : collector.posts()) {
    for (auto& span : decode_request(post.body).spans) by_name[span.name] = span;
  }
  const auto& parent = by_name.at("parent");
  const auto& child = by_name.at("child");
  EXPECT_FALSE(parent.parent_span_id.has_value());
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_EQ(child.parent_span_id, parent.span_id);
  EXPECT_EQ(by_name.at("remote").trace_id, kTrace);
  EXPECT_EQ(by_name.at("remote").parent_span_id, kSpan);
  EXPECT_FALSE(by_name.at("orphan").parent_span_id.has_value());
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

// Keys are kept as views, so only literals may become keys: a runtime string does not compile.
static_assert(!std::is_constructible_v<AttributeKey, std::string>);
static_assert(!std::is_constructible_v<AttributeKey, std::string_view>);

TEST(Span, AttributesBeyondTheLimitAreDroppedAndCounted) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  {
    auto span = tracer.start_span("busy", SpanKind::kInternal);
    for (std::size_t i = 0; i < kMaxAttributes + 2; ++i) span.set_attribute("n", static_cast<std::int64_t>(i));
  }
  tracer.flush();
  ASSERT_EQ(collector.posts().size(), 1U);
  const auto span = decode_request(collector.posts()[0].body).spans.at(0);
  ASSERT_EQ(span.attributes.size(), kMaxAttributes);
  for (std::size_t i = 0; i < kMaxAttributes; ++i) {
    EXPECT_EQ(span.attributes[i].second.integer, static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(span.dropped_attributes, 2U);
}

TEST(Span, StringAttributesKeepTheirType) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  {
    auto span = tracer.start_span("typed", SpanKind::kInternal);
    span.set_attribute("literal", "v");  // a const char*: a string, not a bool
    span.set_attribute("string", std::string(100, 'w'));
    span.set_attribute("flag", true);
    span.set_attribute("ratio", 0.25);
  }
  tracer.flush();
  ASSERT_EQ(collector.posts().size(), 1U);
  const auto span = decode_request(collector.posts()[0].body).spans.at(0);
  EXPECT_EQ(attribute(span, "literal").member, 1U);
  EXPECT_EQ(attribute(span, "literal").text, "v");
  EXPECT_EQ(attribute(span, "string").text, std::string(100, 'w'));
  EXPECT_EQ(attribute(span, "flag").member, 2U);
  EXPECT_EQ(attribute(span, "ratio").real, 0.25);
}

TEST(Span, TraceparentIsHeldInline) {
  Collector collector;
  Tracer tracer(exporter_config(collector.url()), "ms1");
  auto span = tracer.start_span("a", SpanKind::kServer, parse_traceparent(kGood));
  const Traceparent traceparent = span.traceparent();
  EXPECT_EQ(traceparent.view().size(), Traceparent::kSize);
  EXPECT_FALSE(traceparent.empty());
  std::string assigned = "old";
  assigned = span.traceparent();  // as MS3 keeps it
  EXPECT_EQ(assigned, format_traceparent(span.context()));
  EXPECT_EQ(traceparent, assigned);
  EXPECT_EQ(Traceparent().view(), "");
  EXPECT_TRUE(Traceparent().empty());
  SpanContext unsampled = span.context();
  unsampled.sampled = false;
  EXPECT_EQ(Traceparent(unsampled).view().substr(52), "-00");
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
  const auto span = decode_request(collector.posts().at(0).body).spans.at(0);
  const auto start = span.start;
  const auto end = span.end;
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

TEST(OtlpJson, DroppedAttributesAreCounted) {
  SpanData span = sample_span(true);
  span.dropped_attributes = 3;
  const auto doc = json::parse(to_otlp_json("ms1", {span, sample_span(false)}));
  const auto& spans = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans");
  EXPECT_EQ(spans.at(0).at("droppedAttributesCount").as_int64(), 3);
  EXPECT_FALSE(spans.at(1).as_object().contains("droppedAttributesCount"));
}

// ---- OtlpProtobuf -----------------------------------------------------------------------------

TEST(OtlpProtobuf, OneTinyRequestByteForByte) {
  SpanData span;
  for (std::uint8_t i = 0; i < 16; ++i) span.context.trace_id[i] = static_cast<std::uint8_t>(0x01 + i);
  for (std::uint8_t i = 0; i < 8; ++i) span.context.span_id[i] = static_cast<std::uint8_t>(0x11 + i);
  span.name = "n";
  span.kind = SpanKind::kServer;
  span.start_unix_ns = 1;
  span.end_unix_ns = 2;
  span.attributes = {{"k", std::int64_t{1}}};
  span.status = StatusCode::kError;
  span.status_message = "e";
  // Worked out by hand from the .proto files: tag = field << 3 | wire type (0 varint, 1 fixed64,
  // 2 length-delimited), lengths as varints.
  const std::string expected =
      "0a6b"                                    // ExportTraceServiceRequest.resource_spans (1), 107 bytes
      "0a15"                                    //  ResourceSpans.resource (1), 21 bytes
      "0a13"                                    //   Resource.attributes (1), 19 bytes
      "0a0c" "736572766963652e6e616d65"         //    KeyValue.key (1) "service.name"
      "1203" "0a0173"                           //    KeyValue.value (2): AnyValue.string_value (1) "s"
      "1252"                                    //  ResourceSpans.scope_spans (2), 82 bytes
      "0a0b" "0a0972696e677472616365"           //   ScopeSpans.scope (1): InstrumentationScope.name (1) "ringtrace"
      "1243"                                    //   ScopeSpans.spans (2), 67 bytes
      "0a10" "0102030405060708090a0b0c0d0e0f10" //    Span.trace_id (1)
      "1208" "1112131415161718"                 //    Span.span_id (2)
      "2a01" "6e"                               //    Span.name (5) "n"
      "3002"                                    //    Span.kind (6) SERVER
      "39" "0100000000000000"                   //    Span.start_time_unix_nano (7), fixed64 1
      "41" "0200000000000000"                   //    Span.end_time_unix_nano (8), fixed64 2
      "4a07" "0a016b" "1202" "1801"             //    Span.attributes (9): key "k", value int_value (3) 1
      "7a05" "120165" "1802";                   //    Span.status (15): message (2) "e", code (3) ERROR
  EXPECT_EQ(hex(to_otlp_protobuf("s", {span})), expected);
}

TEST(OtlpProtobuf, DecodesToTheSpansEncoded) {
  const auto request = decode_request(to_otlp_protobuf("ms2", {sample_span(true), sample_span(false)}));
  EXPECT_EQ(request.resource_spans, 1U);
  EXPECT_EQ(request.scope_spans, 1U);
  ASSERT_EQ(request.resource_attributes.size(), 1U);
  EXPECT_EQ(service_name(request), "ms2");
  EXPECT_EQ(request.scope_name, "ringtrace");
  ASSERT_EQ(request.spans.size(), 2U);
  for (const auto& span : request.spans) {
    EXPECT_EQ(span.trace_id, kTrace);
    EXPECT_EQ(span.span_id, kSpan);
    EXPECT_EQ(span.start, 1'700'000'000'123'456'789ULL);
    EXPECT_EQ(span.end, 1'700'000'000'223'456'789ULL);
    ASSERT_EQ(span.attributes.size(), 4U);
    EXPECT_EQ(span.attributes[0].first, "messaging.system");
    EXPECT_EQ(span.attributes[0].second.member, 1U);
    EXPECT_EQ(span.attributes[0].second.text, "kafka");
    EXPECT_EQ(span.attributes[1].first, "messaging.kafka.offset");
    EXPECT_EQ(span.attributes[1].second.member, 3U);
    EXPECT_EQ(span.attributes[1].second.integer, -9'007'199'254'740'993);
    EXPECT_EQ(span.attributes[2].first, "ok");
    EXPECT_EQ(span.attributes[2].second.member, 2U);
    EXPECT_TRUE(span.attributes[2].second.flag);
    EXPECT_EQ(span.attributes[3].first, "ratio");
    EXPECT_EQ(span.attributes[3].second.member, 4U);
    EXPECT_EQ(span.attributes[3].second.real, 0.5);
    EXPECT_EQ(span.dropped_attributes, 0U);
  }
  const auto& root = request.spans[0];
  const auto& child = request.spans[1];
  EXPECT_FALSE(root.parent_span_id.has_value());
  EXPECT_EQ(child.parent_span_id, "1111111111111111");
  EXPECT_EQ(root.name, "root \"quoted\"\n\\");
  EXPECT_EQ(child.name, "kafka produce");
  EXPECT_EQ(root.kind, 2U);
  EXPECT_EQ(child.kind, 4U);
  EXPECT_TRUE(root.has_status);
  EXPECT_EQ(root.status_code, 2U);
  EXPECT_EQ(root.status_message, "db \"down\"");
  EXPECT_EQ(child.status_code, 1U);
  EXPECT_EQ(child.status_message, "");
}

TEST(OtlpProtobuf, EveryValueIsPresentEvenWhenItIsTheDefault) {
  // AnyValue is a oneof: a false, a 0 or an "" must still say which member it is.
  SpanData span = sample_span(true);
  span.attributes = {{"empty", std::string()},
                     {"false", false},
                     {"zero", std::int64_t{0}},
                     {"min", std::numeric_limits<std::int64_t>::min()},
                     {"max", std::numeric_limits<std::int64_t>::max()},
                     {"nan", std::nan("")},
                     {"minus_inf", -HUGE_VAL},
                     {"tiny", 5e-324}};
  const auto decoded = decode_request(to_otlp_protobuf("ms1", {span})).spans.at(0);
  ASSERT_EQ(decoded.attributes.size(), 8U);
  EXPECT_EQ(attribute(decoded, "empty").member, 1U);
  EXPECT_EQ(attribute(decoded, "empty").text, "");
  EXPECT_EQ(attribute(decoded, "false").member, 2U);
  EXPECT_FALSE(attribute(decoded, "false").flag);
  EXPECT_EQ(attribute(decoded, "zero").member, 3U);
  EXPECT_EQ(attribute(decoded, "zero").integer, 0);
  EXPECT_EQ(attribute(decoded, "min").integer, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(attribute(decoded, "max").integer, std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(std::isnan(attribute(decoded, "nan").real));
  EXPECT_EQ(attribute(decoded, "minus_inf").real, -HUGE_VAL);
  EXPECT_EQ(attribute(decoded, "tiny").real, 5e-324);
}

TEST(OtlpProtobuf, StatusIsLeftOutWhenUnset) {
  SpanData span = sample_span(false);
  span.status = StatusCode::kUnset;
  EXPECT_FALSE(decode_request(to_otlp_protobuf("ms1", {span})).spans.at(0).has_status);
}

TEST(OtlpProtobuf, LengthsOfAnySizeAreMinimalVarints) {
  // Every nested length is guessed before the body is written; these outgrow each guess (one
  // byte for attributes, two for a span, three for the batch), and the decoder refuses a length
  // written with more bytes than it needs.
  const std::string service(300, 's');
  SpanData big = sample_span(true);
  big.name = std::string(20'000, 'n');
  big.attributes = {
      {"huge", std::string(3'000'000, 'x')}, {"long", std::string(200, 'y')}, {"short", std::string("z")}};
  std::vector<SpanData> spans(700, sample_span(false));
  spans.push_back(big);
  const auto request = decode_request(to_otlp_protobuf(service, spans));
  EXPECT_EQ(service_name(request), service);
  ASSERT_EQ(request.spans.size(), 701U);
  const auto& last = request.spans.back();
  EXPECT_EQ(last.name, big.name);
  EXPECT_EQ(attribute(last, "huge").text, std::string(3'000'000, 'x'));
  EXPECT_EQ(attribute(last, "long").text, std::string(200, 'y'));
  EXPECT_EQ(attribute(last, "short").text, "z");
  EXPECT_EQ(request.spans.front().name, "kafka produce");
}

TEST(OtlpProtobuf, EmptyBatchIsAValidRequest) {
  const auto request = decode_request(to_otlp_protobuf("ms3", {}));
  EXPECT_EQ(service_name(request), "ms3");
  EXPECT_EQ(request.scope_name, "ringtrace");
  EXPECT_TRUE(request.spans.empty());
}

TEST(OtlpProtobuf, AppendsToAReusedBuffer) {
  std::vector<std::unique_ptr<SpanData>> held;
  held.push_back(std::make_unique<SpanData>(sample_span(true)));
  held.push_back(std::make_unique<SpanData>(sample_span(false)));
  const std::string alone = to_otlp_protobuf("ms1", {sample_span(true), sample_span(false)});
  std::string buffer = "prefix";
  append_otlp_protobuf(buffer, "ms1", held);
  EXPECT_EQ(buffer, "prefix" + alone);
  buffer.clear();  // as the exporter reuses it: the same bytes again
  append_otlp_protobuf(buffer, "ms1", held);
  EXPECT_EQ(buffer, alone);
  std::string json_buffer;
  append_otlp_json(json_buffer, "ms1", held);
  EXPECT_EQ(json_buffer, to_otlp_json("ms1", {sample_span(true), sample_span(false)}));
}

TEST(OtlpProtobuf, DroppedAttributesAreCounted) {
  SpanData span = sample_span(true);
  span.dropped_attributes = 3;
  EXPECT_EQ(decode_request(to_otlp_protobuf("ms1", {span})).spans.at(0).dropped_attributes, 3U);
}

// ---- Exporter ---------------------------------------------------------------------------------

TEST(Exporter, FlushSendsBatchesOfAtMostBatchMax) {
  for (const auto& [protocol, content_type] : {std::pair{TracingProtocol::kHttpProtobuf, "application/x-protobuf"},
                                              std::pair{TracingProtocol::kHttpJson, "application/json"}}) {
    SCOPED_TRACE(std::string(to_string(protocol)));
    Collector collector;
    constexpr int kSpans = 10;
    constexpr int kBatch = 4;
    Tracer tracer(exporter_config(collector.url(), kBatch, 8192, 60'000, 2000, protocol), "ms1");
    for (int i = 0; i < kSpans; ++i) tracer.start_span("s" + std::to_string(i), SpanKind::kInternal).end();
    tracer.flush();
    const auto posts = collector.posts();
    EXPECT_EQ(posts.size(), static_cast<std::size_t>((kSpans + kBatch - 1) / kBatch));
    EXPECT_EQ(collector.span_count(), static_cast<std::size_t>(kSpans));
    std::set<std::string> names;
    for (const auto& post : posts) {
      EXPECT_EQ(post.target, "/v1/traces");
      EXPECT_EQ(post.content_type, content_type);
      EXPECT_EQ(Collector::service_of(post), "ms1");
      const auto spans = Collector::span_names(post);
      EXPECT_LE(spans.size(), static_cast<std::size_t>(kBatch));
      names.insert(spans.begin(), spans.end());
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(kSpans));
    EXPECT_EQ(tracer.stats().exported, static_cast<std::uint64_t>(kSpans));
    EXPECT_EQ(tracer.stats().dropped, 0U);
    EXPECT_EQ(collector.connections(), 1);  // kept alive across POSTs
  }
}

TEST(Exporter, BodiesDecodeInBothProtocols) {
  for (const auto protocol : {TracingProtocol::kHttpProtobuf, TracingProtocol::kHttpJson}) {
    SCOPED_TRACE(std::string(to_string(protocol)));
    Collector collector;
    Tracer tracer(exporter_config(collector.url(), 512, 8192, 60'000, 2000, protocol), "ms2");
    SpanContext sent;
    {
      auto span = tracer.start_span("kafka produce", SpanKind::kProducer, parse_traceparent(kGood));
      span.set_attribute("messaging.system", std::string("kafka"));
      span.set_attribute("session_id", std::int64_t{42});
      span.set_status(StatusCode::kError, "queue full");
      sent = span.context();
    }
    tracer.flush();
    const auto posts = collector.posts();
    ASSERT_EQ(posts.size(), 1U);
    if (protocol == TracingProtocol::kHttpJson) {
      const auto span = json::parse(posts[0].body).at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
      EXPECT_EQ(span.at("spanId").as_string(), to_hex(sent.span_id.data(), 8));
      EXPECT_EQ(span.at("parentSpanId").as_string(), kSpan);
      EXPECT_EQ(span.at("attributes").at(1).at("value").at("intValue").as_string(), "42");
      EXPECT_EQ(span.at("status").at("message").as_string(), "queue full");
    } else {
      const auto request = decode_request(posts[0].body);
      ASSERT_EQ(request.spans.size(), 1U);
      const auto& span = request.spans[0];
      EXPECT_EQ(service_name(request), "ms2");
      EXPECT_EQ(span.name, "kafka produce");
      EXPECT_EQ(span.kind, 4U);
      EXPECT_EQ(span.trace_id, kTrace);
      EXPECT_EQ(span.span_id, to_hex(sent.span_id.data(), 8));
      EXPECT_EQ(span.parent_span_id, kSpan);
      EXPECT_EQ(attribute(span, "messaging.system").text, "kafka");
      EXPECT_EQ(attribute(span, "session_id").integer, 42);
      EXPECT_EQ(span.status_code, 2U);
      EXPECT_EQ(span.status_message, "queue full");
    }
  }
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
