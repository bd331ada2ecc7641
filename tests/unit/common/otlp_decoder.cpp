#include "otlp_decoder.hpp"

#include <bit>
#include <stdexcept>

#include "ringtrace/common/tracing.hpp"

namespace tracing_test {

using ringtrace::common::tracing::to_hex;

std::string hex(std::string_view bytes) {
  return to_hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

namespace {

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

}  // namespace

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

std::string service_name(const DecodedRequest& request) {
  for (const auto& [key, value] : request.resource_attributes) {
    if (key == "service.name" && value.member == 1) return value.text;
  }
  return {};
}

const DecodedValue& attribute(const DecodedSpan& span, const std::string& key) {
  for (const auto& [k, v] : span.attributes) {
    if (k == key) return v;
  }
  throw std::runtime_error("no attribute " + key);
}

}  // namespace tracing_test
