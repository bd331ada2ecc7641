#include "ringtrace/common/tracing.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <random>
#include <type_traits>
#include <utility>

#include <boost/json.hpp>

#include "ringtrace/common/otlp_exporter.hpp"

namespace ringtrace::common::tracing {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

/// "000102…feff": both digits of each byte value, so formatting a byte is one two-byte copy.
constexpr auto kHexPairs = [] {
  std::array<char, 512> pairs{};
  for (std::size_t i = 0; i < 256; ++i) {
    pairs[2 * i] = kHexDigits[i >> 4];
    pairs[2 * i + 1] = kHexDigits[i & 0x0f];
  }
  return pairs;
}();

/// Each character's value as a lowercase hex digit, or -1 (uppercase is rejected, as W3C requires).
constexpr auto kHexValues = [] {
  std::array<std::int8_t, 256> values{};
  values.fill(-1);
  for (int c = '0'; c <= '9'; ++c) values[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) values[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'a' + 10);
  return values;
}();

/// Writes 2 * size lowercase hex digits at `out`; returns the end.
char* write_hex(char* out, const std::uint8_t* bytes, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i, out += 2) std::memcpy(out, &kHexPairs[2 * std::size_t{bytes[i]}], 2);
  return out;
}

/// One generator a thread: no lock, seeded once from the OS.
std::mt19937_64& generator() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
  return engine;
}

template <std::size_t N>
void fill_random_nonzero(std::array<std::uint8_t, N>& bytes) {
  auto& engine = generator();
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t word = engine();
      for (std::size_t j = i; j < std::min(N, i + 8); ++j) {
        bytes[j] = static_cast<std::uint8_t>(word & 0xffU);
        word >>= 8;
      }
    }
  } while (std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; }));
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

int hex_value(char c) { return kHexValues[static_cast<unsigned char>(c)]; }

/// Decodes exactly 2*N lowercase hex digits.
template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if ((hi | lo) < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

std::uint64_t unix_now_ns() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

boost::json::object attribute_value(const AttributeValue& value) {
  boost::json::object out;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out["stringValue"] = v;
        } else if constexpr (std::is_same_v<T, bool>) {
          out["boolValue"] = v;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out["intValue"] = std::to_string(v);  // OTLP JSON: 64-bit integers as decimal strings
        } else {
          // JSON has no NaN/Infinity; OTLP's protobuf JSON mapping writes them as strings.
          if (std::isnan(v)) {
            out["doubleValue"] = "NaN";
          } else if (std::isinf(v)) {
            out["doubleValue"] = v > 0 ? "Infinity" : "-Infinity";
          } else {
            out["doubleValue"] = v;
          }
        }
      },
      value);
  return out;
}

boost::json::object span_json(const SpanData& span) {
  boost::json::object out;
  out["traceId"] = to_hex(span.context.trace_id.data(), span.context.trace_id.size());
  out["spanId"] = to_hex(span.context.span_id.data(), span.context.span_id.size());
  if (span.parent) out["parentSpanId"] = to_hex(span.parent->data(), span.parent->size());
  out["name"] = span.name;
  out["kind"] = static_cast<int>(span.kind);
  out["startTimeUnixNano"] = std::to_string(span.start_unix_ns);
  out["endTimeUnixNano"] = std::to_string(span.end_unix_ns);
  boost::json::array attributes;
  attributes.reserve(span.attributes.size());
  for (const auto& attribute : span.attributes) {
    attributes.push_back(
        boost::json::object{{"key", attribute.key.view()}, {"value", attribute_value(attribute.value)}});
  }
  out["attributes"] = std::move(attributes);
  if (span.dropped_attributes != 0) out["droppedAttributesCount"] = span.dropped_attributes;
  boost::json::object status;
  status["code"] = static_cast<int>(span.status);
  if (!span.status_message.empty()) status["message"] = span.status_message;
  out["status"] = std::move(status);
  return out;
}

}  // namespace

bool SpanContext::valid() const { return !all_zero(trace_id) && !all_zero(span_id); }

std::string to_hex(const std::uint8_t* bytes, std::size_t size) {
  std::string out(size * 2, '0');
  write_hex(out.data(), bytes, size);
  return out;
}

// text_ is left for the body to fill, every byte of it.
Traceparent::Traceparent(const SpanContext& context) : size_(kSize) {  // NOLINT(cppcoreguidelines-pro-type-member-init)
  char* out = text_.data();
  *out++ = '0';
  *out++ = '0';
  *out++ = '-';
  out = write_hex(out, context.trace_id.data(), context.trace_id.size());
  *out++ = '-';
  out = write_hex(out, context.span_id.data(), context.span_id.size());
  *out++ = '-';
  *out++ = '0';
  *out = context.sampled ? '1' : '0';
}

std::ostream& operator<<(std::ostream& out, const Traceparent& traceparent) { return out << traceparent.view(); }

std::string format_traceparent(const SpanContext& context) { return std::string(Traceparent(context).view()); }

std::optional<SpanContext> parse_traceparent(std::string_view header) {
  // 00-<32 hex>-<16 hex>-<2 hex>: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  if (header.size() != 55) return std::nullopt;
  if (header.substr(0, 2) != "00") return std::nullopt;  // later versions may differ in shape: refuse
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  SpanContext context;
  std::array<std::uint8_t, 1> flags{};
  if (!parse_hex(header.substr(3, 32), context.trace_id) || !parse_hex(header.substr(36, 16), context.span_id) ||
      !parse_hex(header.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (!context.valid()) return std::nullopt;
  context.sampled = (flags[0] & 0x01U) != 0;
  return context;
}

namespace {

/// The JSON body for any range of spans; `get` maps an element to its SpanData.
template <typename Range, typename Get>
std::string otlp_json(std::string_view service, const Range& spans, Get get) {
  boost::json::array span_array;
  span_array.reserve(std::size(spans));
  for (const auto& span : spans) span_array.push_back(span_json(get(span)));

  boost::json::object resource{
      {"attributes",
       boost::json::array{boost::json::object{{"key", "service.name"},
                                              {"value", boost::json::object{{"stringValue", service}}}}}}};
  boost::json::object scope_spans{{"scope", boost::json::object{{"name", "ringtrace"}}},
                                  {"spans", std::move(span_array)}};
  boost::json::object resource_spans{{"resource", std::move(resource)},
                                     {"scopeSpans", boost::json::array{std::move(scope_spans)}}};
  boost::json::object root{{"resourceSpans", boost::json::array{std::move(resource_spans)}}};
  return boost::json::serialize(root);
}

}  // namespace

std::string to_otlp_json(std::string_view service, const std::vector<SpanData>& spans) {
  return otlp_json(service, spans, [](const SpanData& span) -> const SpanData& { return span; });
}

void append_otlp_json(std::string& out, std::string_view service, std::span<const std::unique_ptr<SpanData>> spans) {
  out += otlp_json(service, spans, [](const std::unique_ptr<SpanData>& span) -> const SpanData& { return *span; });
}

// ---- Span -------------------------------------------------------------------------------------

Span::Span(Span&& other) noexcept : tracer_(std::exchange(other.tracer_, nullptr)), data_(std::move(other.data_)) {}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();  // the span this one held is finished, not lost
    tracer_ = std::exchange(other.tracer_, nullptr);
    data_ = std::move(other.data_);
  }
  return *this;
}

Span::~Span() { end(); }

SpanContext Span::context() const { return data_ ? data_->context : SpanContext{}; }

Traceparent Span::traceparent() const { return data_ ? Traceparent(data_->context) : Traceparent(); }

void Span::set_attribute(AttributeKey key, AttributeValue value) {
  if (!data_) return;
  if (data_->attributes.size() < data_->attributes.capacity()) {
    data_->attributes.push_back(Attribute{key, std::move(value)});
  } else {
    ++data_->dropped_attributes;
  }
}

void Span::set_status(StatusCode code, std::string message) {
  if (!data_) return;
  data_->status = code;
  data_->status_message = std::move(message);
}

void Span::end() {
  if (!data_) return;
  data_->end_unix_ns = std::max(unix_now_ns(), data_->start_unix_ns);  // wall clock may step back
  Tracer* tracer = std::exchange(tracer_, nullptr);
  auto data = std::move(data_);
  if (tracer) tracer->finish(std::move(data));
}

// ---- Tracer -----------------------------------------------------------------------------------

Tracer::Tracer(const TracingConfig& config, std::string service)
    : enabled_(config.enabled),
      exporter_(config.enabled ? std::make_unique<Exporter>(config, std::move(service)) : nullptr) {}

Tracer::~Tracer() {
  if (exporter_) exporter_->flush();
  exporter_.reset();  // joins the exporter thread
}

Span Tracer::start_span(std::string_view name, SpanKind kind, const std::optional<SpanContext>& parent) {
  if (!enabled_) return Span{};
  auto data = std::make_unique<SpanData>();
  if (parent && parent->valid()) {
    data->context.trace_id = parent->trace_id;
    data->context.sampled = parent->sampled;
    data->parent = parent->span_id;
  } else {
    fill_random_nonzero(data->context.trace_id);
  }
  fill_random_nonzero(data->context.span_id);
  data->name = std::string(name);
  data->kind = kind;
  data->start_unix_ns = unix_now_ns();
  return Span(this, std::move(data));
}

void Tracer::flush() {
  if (exporter_) exporter_->flush();
}

TracerStats Tracer::stats() const { return exporter_ ? exporter_->stats() : TracerStats{}; }

void Tracer::finish(std::unique_ptr<SpanData> data) {
  // An unsampled trace (flags 00 from upstream) is recorded for propagation but not exported.
  if (exporter_ && data->context.sampled) exporter_->enqueue(std::move(data));
}

void register_metrics(const Tracer& tracer, MetricsRegistry& metrics) {
  const std::string help = "Finished spans by fate: exported to the collector, dropped (queue full) or failed (POST failed)";
  metrics.counter_fn("ringtrace_spans_total", help, [&tracer] { return static_cast<double>(tracer.stats().exported); },
                     {{"fate", "exported"}});
  metrics.counter_fn("ringtrace_spans_total", help, [&tracer] { return static_cast<double>(tracer.stats().dropped); },
                     {{"fate", "dropped"}});
  metrics.counter_fn("ringtrace_spans_total", help, [&tracer] { return static_cast<double>(tracer.stats().failed); },
                     {{"fate", "failed"}});
  // Lets a reader of the counters above know they are final for the spans finished so far.
  metrics.gauge_fn("ringtrace_spans_queued", "Finished spans waiting for export or in a POST, not yet counted by fate",
                   [&tracer] { return static_cast<double>(tracer.stats().queued); });
}

}  // namespace ringtrace::common::tracing
