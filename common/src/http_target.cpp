#include "ringtrace/common/http_target.hpp"

#include <charconv>

#include <fmt/format.h>

namespace ringtrace::common {

std::string_view path_of(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

std::optional<std::string_view> path_tail(std::string_view target, std::string_view prefix) {
  const auto path = path_of(target);
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  return path.substr(prefix.size());
}

std::optional<std::int64_t> parse_int_in(std::string_view text, std::int64_t min, std::int64_t max) {
  // OpenAPI's `integer` is JSON Schema's: 91.0 is one. A fraction of zeros is dropped, any other refused.
  if (const auto dot = text.find('.'); dot != std::string_view::npos) {
    const auto fraction = text.substr(dot + 1);
    if (fraction.empty() || fraction.find_first_not_of('0') != std::string_view::npos) return std::nullopt;
    text = text.substr(0, dot);
  }
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

std::optional<std::string> read_int_params(std::string_view target, std::span<IntParam> params) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  const auto names = [&] {
    std::string out;
    for (const auto& p : params) out += (out.empty() ? "" : ", ") + std::string(p.name);
    return out.empty() ? std::string("none") : out;
  };
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'
    const auto eq = pair.find('=');
    const auto name = pair.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    IntParam* param = nullptr;
    for (auto& p : params) {
      if (p.name == name) param = &p;
    }
    if (param == nullptr) return fmt::format("unknown query parameter '{}' (accepted: {})", name, names());
    if (param->value) return fmt::format("query parameter '{}' given twice", name);
    param->value = parse_int_in(value, param->min, param->max);
    if (!param->value) {
      return fmt::format("query parameter '{}': expected an integer in [{}, {}], got '{}'", name, param->min,
                         param->max, value);
    }
  }
  return std::nullopt;
}

}  // namespace ringtrace::common
