#pragma once
/// @file
/// Spans for Jaeger: W3C trace context, RAII spans, and a batching OTLP/HTTP exporter (protobuf
/// or JSON). No OpenTelemetry C++ package exists in Debian bookworm, so this is the small subset
/// we need.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/container/static_vector.hpp>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/metrics.hpp"

namespace ringtrace::common::tracing {

/// 16-byte trace id; all zero is invalid.
using TraceId = std::array<std::uint8_t, 16>;
/// 8-byte span id; all zero is invalid.
using SpanId = std::array<std::uint8_t, 8>;

/// What travels with a message: the trace and the span that sent it.
struct SpanContext {
  TraceId trace_id{};  ///< the message cycle
  SpanId span_id{};    ///< the sender's span, the receiver's parent
  bool sampled = true; ///< trace-flags bit 0

  /// Both ids non-zero.
  [[nodiscard]] bool valid() const;
  /// Field-wise equality.
  friend bool operator==(const SpanContext&, const SpanContext&) = default;
};

/// A traceparent header value held inline. Every hop sends one, and as a std::string its 55
/// characters would cost a heap allocation each time. Empty for a span that does not record.
class Traceparent {
 public:
  /// Length of a version-00 traceparent.
  static constexpr std::size_t kSize = 55;

  /// The empty value ("").
  Traceparent() : text_{} {}
  /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` of `context`.
  explicit Traceparent(const SpanContext& context);

  /// The text; valid while this object lives (like std::string's conversion, do not keep it longer).
  [[nodiscard]] std::string_view view() const { return {text_.data(), size_}; }
  /// Implicit, so callers that took the std::string this used to be (string_view parameters,
  /// assignment to a std::string) compile unchanged.
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  /// True for the value of a span that does not record.
  [[nodiscard]] bool empty() const { return size_ == 0; }
  /// Text equality, also against std::string and literals.
  friend bool operator==(const Traceparent& a, std::string_view b) { return a.view() == b; }

 private:
  std::array<char, kSize> text_;  // the first size_ characters are the value
  std::size_t size_ = 0;
};

/// Prints the text (for test failure messages).
std::ostream& operator<<(std::ostream& out, const Traceparent& traceparent);

/// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
std::string format_traceparent(const SpanContext& context);

/// Parses a W3C traceparent (version 00; lowercase hex; non-zero ids); nullopt when malformed.
std::optional<SpanContext> parse_traceparent(std::string_view header);

/// Lowercase hex of `bytes`, as OTLP JSON and traceparent write ids.
std::string to_hex(const std::uint8_t* bytes, std::size_t size);

/// OTLP span kinds (the enum values of OTLP, in JSON and protobuf alike).
enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };

/// OTLP status codes.
enum class StatusCode { kUnset = 0, kOk = 1, kError = 2 };

/// An attribute value: OTLP's stringValue, intValue, boolValue or doubleValue.
using AttributeValue = std::variant<std::string, std::int64_t, bool, double>;

/// An attribute key: a view of a string literal, so recording one copies nothing. Only compile-time
/// strings convert (the constructor is consteval), which guarantees the text outlives the span on
/// the exporter thread; every key OpenTelemetry's conventions define is such a constant anyway.
class AttributeKey {
 public:
  /// From a string literal; a runtime string does not compile.
  consteval AttributeKey(const char* key) : key_(key) {}  // NOLINT(google-explicit-constructor)
  /// The key's text, of static storage duration.
  [[nodiscard]] constexpr std::string_view view() const { return key_; }
  /// Text equality.
  friend constexpr bool operator==(AttributeKey a, AttributeKey b) { return a.key_ == b.key_; }

 private:
  std::string_view key_;
};

/// One key/value attribute.
struct Attribute {
  AttributeKey key;      ///< e.g. "messaging.system"
  AttributeValue value;  ///< typed value
};

/// Attributes a span holds at most: twice what the busiest span of the ring sets. They live
/// inside the span, so recording them allocates nothing; more are dropped and counted, as
/// OpenTelemetry's attribute limits do.
inline constexpr std::size_t kMaxAttributes = 12;

/// A span's attributes, in insertion order.
using AttributeList = boost::container::static_vector<Attribute, kMaxAttributes>;

/// A finished span, as exported.
struct SpanData {
  SpanContext context;                ///< trace id + this span's id
  std::optional<SpanId> parent;       ///< empty for a root span
  std::string name;                   ///< e.g. "kafka produce"
  SpanKind kind = SpanKind::kInternal;  ///< role in the exchange (server, client, producer...)
  std::uint64_t start_unix_ns = 0;    ///< wall clock
  std::uint64_t end_unix_ns = 0;      ///< wall clock
  AttributeList attributes;           ///< in insertion order
  std::uint32_t dropped_attributes = 0;  ///< set beyond kMaxAttributes, hence not in `attributes`
  StatusCode status = StatusCode::kUnset;  ///< kError marks the span red in Jaeger
  std::string status_message;         ///< set with kError
};

/// The OTLP/HTTP JSON body for `spans` of `service` (resourceSpans → scopeSpans → spans).
std::string to_otlp_json(std::string_view service, const std::vector<SpanData>& spans);

/// Appends the OTLP/HTTP JSON body for `spans` (held as the exporter holds them) to `out`.
void append_otlp_json(std::string& out, std::string_view service, std::span<const std::unique_ptr<SpanData>> spans);

/// The OTLP/HTTP protobuf body, an ExportTraceServiceRequest, for `spans` of `service`.
std::string to_otlp_protobuf(std::string_view service, const std::vector<SpanData>& spans);

/// Appends the OTLP/HTTP protobuf body for `spans` to `out`. Encodes in one pass straight into
/// `out`, so a buffer reused across batches makes a batch cost no allocation once it has grown.
void append_otlp_protobuf(std::string& out, std::string_view service,
                          std::span<const std::unique_ptr<SpanData>> spans);

class Exporter;

/// Counters for /metrics and logs.
struct TracerStats {
  std::uint64_t exported = 0;        ///< spans the collector accepted
  std::uint64_t dropped = 0;         ///< spans dropped because the queue was full
  std::uint64_t failed = 0;          ///< spans lost to failed POSTs
  /// Spans finished and queued whose fate is not known yet (waiting, or in a POST); 0 means every
  /// span finished so far is counted in exported, dropped or failed.
  std::uint64_t queued = 0;
};

class Tracer;

/// A span being recorded. Ends (and is queued for export) on end() or destruction. A
/// default-constructed span, or any span of a disabled tracer, records nothing and costs nothing.
/// Not thread-safe: one span is used by one thread at a time.
class Span {
 public:
  /// A span that records nothing, to be assigned later.
  Span() = default;
  /// Takes over `other`'s recording; `other` records nothing afterwards.
  Span(Span&& other) noexcept;
  /// Ends the span held (if any), then takes over `other`'s recording.
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span();

  /// True when this span records (tracing on).
  [[nodiscard]] bool recording() const { return data_ != nullptr; }
  /// Its context, to hand to children and to send along (invalid when not recording).
  [[nodiscard]] SpanContext context() const;
  /// Its traceparent header value ("" when not recording).
  [[nodiscard]] Traceparent traceparent() const;

  /// Adds an attribute (no-op when not recording); `key` must be a literal, see AttributeKey.
  void set_attribute(AttributeKey key, AttributeValue value);
  /// Sets the status (no-op when not recording).
  void set_status(StatusCode code, std::string message = {});
  /// Ends the span now and queues it for export; later calls do nothing.
  void end();

 private:
  friend class Tracer;
  Span(Tracer* tracer, std::unique_ptr<SpanData> data) : tracer_(tracer), data_(std::move(data)) {}

  Tracer* tracer_ = nullptr;
  std::unique_ptr<SpanData> data_;
};

/// Starts spans and owns the exporter thread of one service. Thread-safe.
class Tracer {
 public:
  /// `service` is the Jaeger service name (ms1, ms2, ms3). Starts the exporter thread when enabled.
  Tracer(const TracingConfig& config, std::string service);
  /// Flushes what is queued (bounded by the POST timeout) and joins the exporter.
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  /// Whether spans are recorded at all.
  [[nodiscard]] bool enabled() const { return enabled_; }

  /// Starts a span: a child of `parent` when it is valid, else the root of a new trace.
  Span start_span(std::string_view name, SpanKind kind, const std::optional<SpanContext>& parent = std::nullopt);

  /// Sends everything queued now and waits for it (bounded); for shutdown and tests.
  void flush();

  /// Counters so far.
  [[nodiscard]] TracerStats stats() const;

 private:
  friend class Span;
  void finish(std::unique_ptr<SpanData> data);

  bool enabled_;
  std::unique_ptr<Exporter> exporter_;
};

/// Exposes `tracer`'s counters (exported, dropped, failed spans) in `metrics`; `tracer` must
/// outlive the registry's scrapes.
void register_metrics(const Tracer& tracer, MetricsRegistry& metrics);

}  // namespace ringtrace::common::tracing
