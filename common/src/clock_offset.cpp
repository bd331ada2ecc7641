#include "ringtrace/common/clock_offset.hpp"

#include <charconv>
#include <limits>

namespace ringtrace::common {

namespace {

using std::chrono::microseconds;

/// Largest magnitude a stamp difference may have: a hundred years, far beyond any real skew, and
/// small enough that sums of four stamps never overflow.
constexpr std::int64_t kMaxSpanUs = 100LL * 366 * 24 * 3600 * 1000 * 1000;

std::int64_t us(Timestamp t) { return t.time_since_epoch().count(); }

/// Floor of x / d for d > 0 (integer division truncates toward zero).
std::int64_t floor_div(std::int64_t x, std::int64_t d) { return x / d - (x % d < 0 ? 1 : 0); }

/// a - b, or nullopt when it would overflow or exceed kMaxSpanUs.
std::optional<std::int64_t> span(Timestamp a, Timestamp b) {
  std::int64_t d = 0;
  if (__builtin_sub_overflow(us(a), us(b), &d) || d > kMaxSpanUs || d < -kMaxSpanUs) return std::nullopt;
  return d;
}

/// Reads a canonical unsigned decimal (no sign, no leading zero, nothing else) at the front of
/// `text`, up to `max`; consumes it.
std::optional<std::uint64_t> take_unsigned(std::string_view& text, std::uint64_t max) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || (digits > 1 && text[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc() || end != text.data() + digits || value > max) return std::nullopt;
  text.remove_prefix(digits);
  return value;
}

/// A canonical signed decimal: as take_unsigned, with an optional '-' (never "-0").
std::optional<std::int64_t> take_signed(std::string_view& text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  const auto magnitude = take_unsigned(text, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  if (!magnitude || (negative && *magnitude == 0)) return std::nullopt;
  const auto value = static_cast<std::int64_t>(*magnitude);
  return negative ? -value : value;
}

std::optional<Timestamp> take_stamp(std::string_view& text) {
  const auto value = take_unsigned(text, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  if (!value) return std::nullopt;
  return Timestamp{microseconds{static_cast<std::int64_t>(*value)}};
}

bool take_literal(std::string_view& text, std::string_view literal) {
  if (text.substr(0, literal.size()) != literal) return false;
  text.remove_prefix(literal.size());
  return true;
}

void append_number(std::string& out, std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(std::begin(digits), std::end(digits), value).ptr;
  out.append(digits, end);
}

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(std::begin(digits), std::end(digits), value).ptr;
  out.append(digits, end);
}

constexpr std::string_view kMagic = "RTC1 ";

}  // namespace

std::optional<ClockEstimate> estimate(const ClockSample& s) {
  const auto out = span(s.t2, s.t1);   // request leg: transit + offset
  const auto back = span(s.t3, s.t4);  // answer leg: offset - transit
  const auto round_trip = span(s.t4, s.t1);
  const auto held = span(s.t3, s.t2);
  if (!out || !back || !round_trip || !held || *round_trip < 0 || *held < 0) return std::nullopt;
  const std::int64_t delay = *round_trip - *held;  // = out - back
  if (delay < 0) return std::nullopt;
  // The true offset lies in [back, out]: offset ± ceil(delay / 2) covers it even when the sum is odd.
  return ClockEstimate{floor_div(*out + *back, 2), (delay + 1) / 2, 1, s.t4};
}

bool ClockFilter::add(const ClockSample& sample) {
  auto one = estimate(sample);
  if (!one) {
    ++rejected_;
    return false;
  }
  ++accepted_;
  const std::int64_t second = floor_div(us(sample.t4), 1'000'000);
  if (second > newest_second_) newest_second_ = second;
  if (second <= newest_second_ - static_cast<std::int64_t>(kSlots)) return true;  // older than what is kept
  auto& slot = slots_[static_cast<std::size_t>(second % static_cast<std::int64_t>(kSlots))];
  if (slot.second != second) slot = Slot{second, *one, 0};
  ++slot.count;
  if (one->uncertainty_us <= slot.best.uncertainty_us) slot.best = *one;
  return true;
}

std::optional<ClockEstimate> ClockFilter::best(Timestamp now) const {
  const std::int64_t now_second = floor_div(us(now), 1'000'000);
  std::optional<ClockEstimate> found;
  std::int64_t samples = 0;
  for (const auto& slot : slots_) {
    if (slot.count == 0 || slot.second <= now_second - static_cast<std::int64_t>(kSlots)) continue;
    samples += slot.count;
    const bool better = !found || slot.best.uncertainty_us < found->uncertainty_us ||
                        (slot.best.uncertainty_us == found->uncertainty_us && slot.best.measured_at > found->measured_at);
    if (better) found = slot.best;
  }
  if (found) found->samples = samples;
  return found;
}

std::optional<ClockEstimate> ClockFilter::best() const {
  if (accepted_ == 0) return std::nullopt;
  return best(Timestamp{microseconds{newest_second_ * 1'000'000}});
}

std::string format_probe(const ClockProbe& probe) {
  std::string out(kMagic);
  append_number(out, probe.seq);
  out += ' ';
  append_number(out, us(probe.t1));
  return out;
}

std::optional<ClockProbe> parse_probe(std::string_view payload) {
  if (!take_literal(payload, kMagic)) return std::nullopt;
  const auto seq = take_unsigned(payload, std::numeric_limits<std::uint64_t>::max());
  if (!seq || !take_literal(payload, " ")) return std::nullopt;
  const auto t1 = take_stamp(payload);
  if (!t1 || !payload.empty()) return std::nullopt;
  return ClockProbe{*seq, *t1};
}

std::string format_reply(const ClockReply& reply) {
  std::string out = format_probe({reply.seq, reply.t1});
  out += ' ';
  append_number(out, us(reply.t2));
  out += ' ';
  append_number(out, us(reply.t3));
  return out;
}

std::optional<ClockReply> parse_reply(std::string_view payload) {
  if (!take_literal(payload, kMagic)) return std::nullopt;
  const auto seq = take_unsigned(payload, std::numeric_limits<std::uint64_t>::max());
  if (!seq || !take_literal(payload, " ")) return std::nullopt;
  const auto t1 = take_stamp(payload);
  if (!t1 || !take_literal(payload, " ")) return std::nullopt;
  const auto t2 = take_stamp(payload);
  if (!t2 || !take_literal(payload, " ")) return std::nullopt;
  const auto t3 = take_stamp(payload);
  if (!t3 || !payload.empty()) return std::nullopt;
  return ClockReply{*seq, *t1, *t2, *t3};
}

std::string format_clock_stamps(const ClockStamps& stamps) {
  std::string out;
  append_number(out, us(stamps.t2));
  out += ' ';
  append_number(out, us(stamps.t3));
  return out;
}

std::optional<ClockStamps> parse_clock_stamps(std::string_view value) {
  const auto t2 = take_stamp(value);
  if (!t2 || !take_literal(value, " ")) return std::nullopt;
  const auto t3 = take_stamp(value);
  if (!t3 || !value.empty()) return std::nullopt;
  return ClockStamps{*t2, *t3};
}

std::string format_clock_report(const ClockEstimate& estimate) {
  std::string out = "offset_us=";
  append_number(out, estimate.offset_us);
  out += ";uncertainty_us=";
  append_number(out, estimate.uncertainty_us);
  out += ";samples=";
  append_number(out, estimate.samples);
  return out;
}

std::optional<ClockEstimate> parse_clock_report(std::string_view value) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!take_literal(value, "offset_us=")) return std::nullopt;
  const auto offset = take_signed(value);
  if (!offset || !take_literal(value, ";uncertainty_us=")) return std::nullopt;
  const auto uncertainty = take_unsigned(value, kMax);
  if (!uncertainty || !take_literal(value, ";samples=")) return std::nullopt;
  const auto samples = take_unsigned(value, kMax);
  if (!samples || !value.empty()) return std::nullopt;
  return ClockEstimate{*offset, static_cast<std::int64_t>(*uncertainty), static_cast<std::int64_t>(*samples), {}};
}

}  // namespace ringtrace::common
