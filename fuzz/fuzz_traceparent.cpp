// The W3C traceparent parser under libFuzzer: MS2 parses it from a frame's JSON, MS3 from a Kafka
// header and MS1 from an HTTP header, all of them bytes from outside. Each input is used twice:
// as a header to parse, and (its first 25 bytes) as a span context to format and parse back.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "ringtrace/common/tracing.hpp"

namespace {

using ringtrace::common::tracing::format_traceparent;
using ringtrace::common::tracing::parse_traceparent;
using ringtrace::common::tracing::SpanContext;

constexpr std::size_t kHeaderLength = 55;  // 00-<32 hex>-<16 hex>-<2 hex>
constexpr std::size_t kFlagsOffset = 53;
constexpr std::size_t kContextBytes = 16 + 8 + 1;

/// Aborts so that libFuzzer keeps the input as a crash; the text names the property that broke.
void check(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "fuzz_traceparent: property violated: %s\n", property);
  std::abort();
}

void fuzz_header(std::string_view header) {
  const std::optional<SpanContext> context = parse_traceparent(header);
  if (!context) return;
  check(context->valid(), "a parsed context has non-zero ids");
  const std::string formatted = format_traceparent(*context);
  check(formatted.size() == kHeaderLength, "a formatted traceparent has 55 characters");
  // Only the sampled bit of the flags is kept, so everything before the flags comes back as it was.
  check(formatted.compare(0, kFlagsOffset, header.substr(0, kFlagsOffset)) == 0,
        "format(parse(h)) keeps version, trace id and span id of h");
  check(parse_traceparent(formatted) == context, "parse(format(parse(h))) == parse(h)");
}

void fuzz_context(const std::uint8_t* data) {
  SpanContext context;
  std::copy_n(data, context.trace_id.size(), context.trace_id.begin());
  std::copy_n(data + context.trace_id.size(), context.span_id.size(), context.span_id.begin());
  context.sampled = (data[kContextBytes - 1] & 0x01U) != 0;
  const std::string formatted = format_traceparent(context);
  check(formatted.size() == kHeaderLength, "a formatted traceparent has 55 characters");
  const std::optional<SpanContext> parsed = parse_traceparent(formatted);
  // An all-zero id is how W3C spells "no trace": it must not come back as a context.
  check(parsed.has_value() == context.valid(), "parse(format(c)) succeeds iff c is valid");
  if (parsed) check(*parsed == context, "parse(format(c)) == c");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_header(std::string_view(reinterpret_cast<const char*>(data), size));
  if (size >= kContextBytes) fuzz_context(data);
  return 0;
}
