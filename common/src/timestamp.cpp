#include "ringtrace/common/timestamp.hpp"

#include <array>
#include <atomic>
#include <charconv>

namespace ringtrace::common {

namespace {

constexpr std::size_t kTimestampLength = 27;  // 2026-11-21T10:15:30.123456Z

void put_digits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

bool read_digits(std::string_view text, std::size_t pos, std::size_t width, unsigned& value) {
  value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

}  // namespace

Timestamp now_utc() {
  // The VM's wall clock was seen stepping back a microsecond between two reads; never going
  // backwards within a process keeps a message's own stamps ordered.
  static std::atomic<std::int64_t> last{0};
  std::int64_t now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now())
                         .time_since_epoch()
                         .count();
  std::int64_t seen = last.load(std::memory_order_relaxed);
  while (seen < now && !last.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
  return Timestamp{std::chrono::microseconds{std::max(now, seen)}};
}

void append_timestamp(std::string& out, Timestamp ts) {
  using namespace std::chrono;
  const auto day = floor<days>(ts);
  const year_month_day ymd{day};
  const hh_mm_ss tod{ts - day};
  std::array<char, kTimestampLength> buf{};
  put_digits(buf.data(), static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  buf[4] = '-';
  put_digits(buf.data() + 5, static_cast<unsigned>(ymd.month()), 2);
  buf[7] = '-';
  put_digits(buf.data() + 8, static_cast<unsigned>(ymd.day()), 2);
  buf[10] = 'T';
  put_digits(buf.data() + 11, static_cast<unsigned>(tod.hours().count()), 2);
  buf[13] = ':';
  put_digits(buf.data() + 14, static_cast<unsigned>(tod.minutes().count()), 2);
  buf[16] = ':';
  put_digits(buf.data() + 17, static_cast<unsigned>(tod.seconds().count()), 2);
  buf[19] = '.';
  put_digits(buf.data() + 20, static_cast<unsigned>(tod.subseconds().count()), 6);
  buf[26] = 'Z';
  out.append(buf.data(), buf.size());
}

std::string format_timestamp(Timestamp ts) {
  std::string out;
  out.reserve(kTimestampLength);
  append_timestamp(out, ts);
  return out;
}

std::optional<Timestamp> parse_timestamp(std::string_view text) {
  using namespace std::chrono;
  if (text.size() != kTimestampLength || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':' || text[19] != '.' || text[26] != 'Z') {
    return std::nullopt;
  }
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, us = 0;
  if (!read_digits(text, 0, 4, y) || !read_digits(text, 5, 2, mo) || !read_digits(text, 8, 2, d) ||
      !read_digits(text, 11, 2, h) || !read_digits(text, 14, 2, mi) || !read_digits(text, 17, 2, s) ||
      !read_digits(text, 20, 6, us)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{static_cast<int>(y)}, month{mo}, day{d}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  return Timestamp{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{s} + microseconds{us};
}

}  // namespace ringtrace::common
