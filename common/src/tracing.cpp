#include "ringtrace/common/tracing.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>
#include <utility>

#include <boost/json.hpp>

#include "ringtrace/common/otlp_exporter.hpp"

namespace ringtrace::common::tracing {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

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

/// Lowercase hex digit value, or -1 (uppercase is rejected, as W3C requires).
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// Decodes exactly 2*N lowercase hex digits.
template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
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
    attributes.push_back(boost::json::object{{"key", attribute.key}, {"value", attribute_value(attribute.value)}});
  }
  out["attributes"] = std::move(attributes);
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
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0x0f];
  }
  return out;
}

std::string format_traceparent(const SpanContext& context) {
  std::string out;
  out.reserve(55);
  out += "00-";
  out += to_hex(context.trace_id.data(), context.trace_id.size());
  out += '-';
  out += to_hex(context.span_id.data(), context.span_id.size());
  out += context.sampled ? "-01" : "-00";
  return out;
}

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

std::string to_otlp_json(std::string_view service, const std::vector<SpanData>& spans) {
  boost::json::array span_array;
  span_array.reserve(spans.size());
  for (const auto& span : spans) span_array.push_back(span_json(span));

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

std::string Span::traceparent() const { return data_ ? format_traceparent(data_->context) : std::string(); }

void Span::set_attribute(std::string key, AttributeValue value) {
  if (data_) data_->attributes.push_back(Attribute{std::move(key), std::move(value)});
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
}

}  // namespace ringtrace::common::tracing
