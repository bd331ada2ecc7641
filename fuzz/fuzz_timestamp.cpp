// The RFC 3339 timestamp codec under libFuzzer. parse_timestamp promises to accept exactly what
// format_timestamp writes, so rows stay comparable: whatever parses must format back to the same
// bytes, and every time point the format can spell (years 0000 to 9999) must parse back.
// Each input is used twice: as text to parse, and (its first 8 bytes) as a time point.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "ringtrace/common/timestamp.hpp"

namespace {

using ringtrace::common::append_timestamp;
using ringtrace::common::format_timestamp;
using ringtrace::common::parse_timestamp;
using ringtrace::common::Timestamp;

/// Aborts so that libFuzzer keeps the input as a crash; the text names the property that broke.
void check(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "fuzz_timestamp: property violated: %s\n", property);
  std::abort();
}

// The four-digit year bounds what the format can spell.
constexpr Timestamp kFirst{std::chrono::sys_days{std::chrono::year{0} / 1 / 1}};
constexpr Timestamp kLast{std::chrono::sys_days{std::chrono::year{9999} / 12 / 31} + std::chrono::days{1} -
                          std::chrono::microseconds{1}};

void fuzz_text(std::string_view text) {
  const std::optional<Timestamp> ts = parse_timestamp(text);
  if (!ts) return;
  check(*ts >= kFirst && *ts <= kLast, "a parsed timestamp lies in years 0000..9999");
  check(format_timestamp(*ts) == text, "format(parse(t)) == t");
  std::string appended = "x";
  append_timestamp(appended, *ts);
  check(std::string_view(appended).substr(1) == text, "append_timestamp writes what format_timestamp does");
}

void fuzz_time_point(const std::uint8_t* data) {
  std::uint64_t raw = 0;
  std::memcpy(&raw, data, sizeof raw);
  const auto span = static_cast<std::uint64_t>((kLast - kFirst).count()) + 1;
  const Timestamp ts = kFirst + std::chrono::microseconds{static_cast<std::int64_t>(raw % span)};
  const std::string text = format_timestamp(ts);
  check(text.size() == 27, "a formatted timestamp has 27 characters");
  check(parse_timestamp(text) == ts, "parse(format(ts)) == ts");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_text(std::string_view(reinterpret_cast<const char*>(data), size));
  if (size >= sizeof(std::uint64_t)) fuzz_time_point(data);
  return 0;
}
