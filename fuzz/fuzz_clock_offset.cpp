// The clock codecs (WebSocket probe and reply payloads, the /store clock headers) under libFuzzer.
// Each parser promises to accept exactly what its formatter writes: whatever parses must format
// back to the same bytes. Whatever parses as a reply also goes through the estimate and a filter,
// which must refuse or bound it, never overflow (UBSan watches).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ringtrace/common/clock_offset.hpp"

namespace {

namespace rc = ringtrace::common;

/// Aborts so that libFuzzer keeps the input as a crash; the text names the property that broke.
void check(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "fuzz_clock_offset: property violated: %s\n", property);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto probe = rc::parse_probe(text)) {
    check(rc::format_probe(*probe) == text, "format_probe(parse_probe(t)) == t");
  }
  if (const auto reply = rc::parse_reply(text)) {
    check(rc::format_reply(*reply) == text, "format_reply(parse_reply(t)) == t");
    check(text.size() <= 125, "a reply fits a control frame");
    // The reply's own stamps as a whole exchange, t4 taken as t3 less the sequence number.
    const rc::ClockSample sample{reply->t1, reply->t2, reply->t3,
                                 reply->t3 - std::chrono::microseconds{static_cast<std::int64_t>(reply->seq % 1'000'000'000)}};
    rc::ClockFilter filter;
    const bool taken = filter.add(sample);
    check(taken == rc::estimate(sample).has_value(), "the filter takes exactly what estimate() accepts");
    if (const auto best = filter.best()) check(best->uncertainty_us >= 0, "an uncertainty is never negative");
  }
  if (const auto stamps = rc::parse_clock_stamps(text)) {
    check(rc::format_clock_stamps(*stamps) == text, "format_clock_stamps(parse_clock_stamps(t)) == t");
  }
  if (const auto report = rc::parse_clock_report(text)) {
    check(rc::format_clock_report(*report) == text, "format_clock_report(parse_clock_report(t)) == t");
    check(report->uncertainty_us >= 0 && report->samples >= 0, "a report's counts are never negative");
  }
  return 0;
}
