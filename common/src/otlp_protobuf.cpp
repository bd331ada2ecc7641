// OTLP/HTTP protobuf bodies, hand-encoded: the messages and field numbers are those of
// opentelemetry-proto (collector/trace/v1/trace_service.proto, trace/v1/trace.proto,
// resource/v1/resource.proto, common/v1/common.proto). Only the fields we set are written.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <variant>

#include "ringtrace/common/tracing.hpp"

namespace ringtrace::common::tracing {

namespace {

enum class Wire : std::uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2 };

// Field numbers, per message.
namespace field {
constexpr std::uint32_t kRequestResourceSpans = 1;  // ExportTraceServiceRequest.resource_spans
constexpr std::uint32_t kResourceSpansResource = 1;
constexpr std::uint32_t kResourceSpansScopeSpans = 2;
constexpr std::uint32_t kResourceAttributes = 1;
constexpr std::uint32_t kScopeSpansScope = 1;
constexpr std::uint32_t kScopeSpansSpans = 2;
constexpr std::uint32_t kScopeName = 1;  // InstrumentationScope.name
constexpr std::uint32_t kSpanTraceId = 1;
constexpr std::uint32_t kSpanSpanId = 2;
constexpr std::uint32_t kSpanParentSpanId = 4;
constexpr std::uint32_t kSpanName = 5;
constexpr std::uint32_t kSpanKind = 6;
constexpr std::uint32_t kSpanStartTime = 7;  // fixed64
constexpr std::uint32_t kSpanEndTime = 8;    // fixed64
constexpr std::uint32_t kSpanAttributes = 9;
constexpr std::uint32_t kSpanDroppedAttributesCount = 10;  // uint32
constexpr std::uint32_t kSpanStatus = 15;
constexpr std::uint32_t kStatusMessage = 2;
constexpr std::uint32_t kStatusCode = 3;
constexpr std::uint32_t kKeyValueKey = 1;
constexpr std::uint32_t kKeyValueValue = 2;
constexpr std::uint32_t kAnyString = 1;
constexpr std::uint32_t kAnyBool = 2;
constexpr std::uint32_t kAnyInt = 3;     // int64: negatives take ten bytes, as protobuf's int64 does
constexpr std::uint32_t kAnyDouble = 4;  // fixed64 bit pattern
}  // namespace field

constexpr std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

/// Writes protobuf fields at the end of a caller's buffer. A nested message reserves a guessed
/// number of bytes for its length, is written in place, and has its length filled in when closed;
/// only a wrong guess moves bytes, so the common case is one pass with no copies. Fields are
/// written through a cursor into room grown geometrically (std::string::append per field costs
/// about as much as the encoding itself); the destructor trims the buffer to what was written.
class ProtoWriter {
 public:
  /// Where a nested message's length goes.
  struct Nested {
    std::size_t length_at;  // offset of the reserved bytes
    std::size_t reserved;   // how many
  };

  explicit ProtoWriter(std::string& out) : out_(out), pos_(out.size()) {}
  ~ProtoWriter() { out_.resize(pos_); }
  ProtoWriter(const ProtoWriter&) = delete;
  ProtoWriter& operator=(const ProtoWriter&) = delete;

  void varint_field(std::uint32_t number, std::uint64_t value) {
    char* at = room(2 * kMaxVarint);
    at = put_varint(at, key(number, Wire::kVarint));
    advance(put_varint(at, value));
  }

  void fixed64_field(std::uint32_t number, std::uint64_t value) {
    char* at = room(kMaxVarint + 8);
    at = put_varint(at, key(number, Wire::kFixed64));
    for (std::size_t i = 0; i < 8; ++i) *at++ = static_cast<char>((value >> (8 * i)) & 0xffU);  // little-endian
    advance(at);
  }

  void bytes_field(std::uint32_t number, const void* data, std::size_t size) {
    char* at = room(2 * kMaxVarint + size);
    at = put_varint(at, key(number, Wire::kLen));
    at = put_varint(at, size);
    std::memcpy(at, data, size);
    advance(at + size);
  }

  void string_field(std::uint32_t number, std::string_view text) { bytes_field(number, text.data(), text.size()); }

  /// Starts nested message `number`, guessing its length takes `reserved` bytes (1: < 128 bytes,
  /// 2: < 16 KiB, 3: < 2 MiB).
  Nested open(std::uint32_t number, std::size_t reserved) {
    char* at = put_varint(room(kMaxVarint + reserved), key(number, Wire::kLen));
    const Nested nested{static_cast<std::size_t>(at - out_.data()), reserved};
    advance(at + reserved);
    return nested;
  }

  /// Ends `nested`: writes its length as a minimal varint, moving the body when the guess was off.
  void close(Nested nested) {
    const std::size_t body_at = nested.length_at + nested.reserved;
    const std::size_t length = pos_ - body_at;
    const std::size_t needed = varint_size(length);
    if (needed != nested.reserved) {
      room(needed);  // may move the buffer: offsets only from here on
      char* body = out_.data() + body_at;
      std::memmove(body + needed - nested.reserved, body, length);
      pos_ = pos_ + needed - nested.reserved;
    }
    put_varint(out_.data() + nested.length_at, length);
  }

 private:
  static constexpr std::size_t kMaxVarint = 10;

  static std::uint64_t key(std::uint32_t number, Wire wire) {
    return (std::uint64_t{number} << 3) | static_cast<std::uint32_t>(wire);
  }

  static char* put_varint(char* at, std::uint64_t value) {
    while (value >= 0x80) {
      *at++ = static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    *at++ = static_cast<char>(value);
    return at;
  }

  /// The cursor, with at least `n` bytes of room after it.
  char* room(std::size_t n) {
    if (out_.size() - pos_ < n) out_.resize(std::max({out_.size() * 2, pos_ + n, std::size_t{4096}}));
    return out_.data() + pos_;
  }

  void advance(const char* to) { pos_ = static_cast<std::size_t>(to - out_.data()); }

  std::string& out_;
  std::size_t pos_;  // bytes written; out_[pos_, size()) is room
};

/// AnyValue's oneof member for `value`.
void write_any_value(ProtoWriter& w, const AttributeValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          w.string_field(field::kAnyString, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          w.varint_field(field::kAnyBool, v ? 1 : 0);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          w.varint_field(field::kAnyInt, static_cast<std::uint64_t>(v));
        } else {
          w.fixed64_field(field::kAnyDouble, std::bit_cast<std::uint64_t>(v));
        }
      },
      value);
}

/// A KeyValue as field `number` of the enclosing message; `write_value` writes the AnyValue's
/// member. Written even when the value is its type's default: in a oneof, presence is the type.
template <typename WriteValue>
void write_key_value(ProtoWriter& w, std::uint32_t number, std::string_view key, WriteValue write_value) {
  const auto key_value = w.open(number, 1);
  w.string_field(field::kKeyValueKey, key);
  const auto any = w.open(field::kKeyValueValue, 1);
  write_value();
  w.close(any);
  w.close(key_value);
}

void write_span(ProtoWriter& w, const SpanData& span) {
  const auto nested = w.open(field::kScopeSpansSpans, 2);
  w.bytes_field(field::kSpanTraceId, span.context.trace_id.data(), span.context.trace_id.size());
  w.bytes_field(field::kSpanSpanId, span.context.span_id.data(), span.context.span_id.size());
  if (span.parent) w.bytes_field(field::kSpanParentSpanId, span.parent->data(), span.parent->size());
  w.string_field(field::kSpanName, span.name);
  w.varint_field(field::kSpanKind, static_cast<std::uint64_t>(span.kind));
  w.fixed64_field(field::kSpanStartTime, span.start_unix_ns);
  w.fixed64_field(field::kSpanEndTime, span.end_unix_ns);
  for (const auto& attribute : span.attributes) {
    write_key_value(w, field::kSpanAttributes, attribute.key.view(), [&] { write_any_value(w, attribute.value); });
  }
  if (span.dropped_attributes != 0) w.varint_field(field::kSpanDroppedAttributesCount, span.dropped_attributes);
  if (span.status != StatusCode::kUnset || !span.status_message.empty()) {
    const auto status = w.open(field::kSpanStatus, 1);
    if (!span.status_message.empty()) w.string_field(field::kStatusMessage, span.status_message);
    if (span.status != StatusCode::kUnset) w.varint_field(field::kStatusCode, static_cast<std::uint64_t>(span.status));
    w.close(status);
  }
  w.close(nested);
}

/// The request for any range of spans; `get` maps an element to its SpanData.
template <typename Range, typename Get>
void append_request(std::string& out, std::string_view service, const Range& spans, Get get) {
  ProtoWriter w(out);
  const auto resource_spans = w.open(field::kRequestResourceSpans, 3);
  {
    const auto resource = w.open(field::kResourceSpansResource, 1);
    write_key_value(w, field::kResourceAttributes, "service.name", [&] { w.string_field(field::kAnyString, service); });
    w.close(resource);
  }
  const auto scope_spans = w.open(field::kResourceSpansScopeSpans, 3);
  {
    const auto scope = w.open(field::kScopeSpansScope, 1);
    w.string_field(field::kScopeName, "ringtrace");
    w.close(scope);
  }
  for (const auto& span : spans) write_span(w, get(span));
  w.close(scope_spans);
  w.close(resource_spans);
}

}  // namespace

std::string to_otlp_protobuf(std::string_view service, const std::vector<SpanData>& spans) {
  std::string out;
  append_request(out, service, spans, [](const SpanData& span) -> const SpanData& { return span; });
  return out;
}

void append_otlp_protobuf(std::string& out, std::string_view service,
                          std::span<const std::unique_ptr<SpanData>> spans) {
  append_request(out, service, spans, [](const std::unique_ptr<SpanData>& span) -> const SpanData& { return *span; });
}

}  // namespace ringtrace::common::tracing
