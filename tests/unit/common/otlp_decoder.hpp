#pragma once
/// @file
/// A protobuf decoder for the tracing tests, written from the wire format independently of the
/// encoder; throws on anything malformed, so a broken encoder fails the test that reads its output.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tracing_test {

/// An AnyValue: which member of the oneof was present, and its value.
struct DecodedValue {
  std::uint32_t member = 0;  // 1 string, 2 bool, 3 int, 4 double; 0 none
  std::string text;
  bool flag = false;
  std::int64_t integer = 0;
  double real = 0;
};

/// A span's or a resource's attributes, in wire order.
using DecodedAttributes = std::vector<std::pair<std::string, DecodedValue>>;

/// One Span message.
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

/// One ExportTraceServiceRequest.
struct DecodedRequest {
  std::size_t resource_spans = 0;
  std::size_t scope_spans = 0;
  DecodedAttributes resource_attributes;
  std::string scope_name;
  std::vector<DecodedSpan> spans;
};

/// Lowercase hex of raw bytes.
std::string hex(std::string_view bytes);

/// An ExportTraceServiceRequest (resource_spans → resource, scope_spans → scope, spans).
DecodedRequest decode_request(std::string_view body);

/// The service.name resource attribute of a decoded request ("" when absent).
std::string service_name(const DecodedRequest& request);

/// The attribute `key` of `span`; throws when absent.
const DecodedValue& attribute(const DecodedSpan& span, const std::string& key);

}  // namespace tracing_test
