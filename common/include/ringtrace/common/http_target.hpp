#pragma once
/// @file
/// Reading an HTTP request target: its path, a path parameter, integer query parameters. Every
/// route of every service reads its target through these, so all refuse a bad one alike.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringtrace::common {

/// `target` without its query.
std::string_view path_of(std::string_view target);

/// What follows `prefix` in `target`'s path (a path parameter), or nullopt when it does not start so.
std::optional<std::string_view> path_tail(std::string_view target, std::string_view prefix);

/// One integer query parameter a route accepts, filled in by read_int_params().
struct IntParam {
  std::string_view name;              ///< as in the query
  std::int64_t min = 0;               ///< smallest value accepted
  std::int64_t max = 0;               ///< largest value accepted
  std::optional<std::int64_t> value;  ///< set when the query gave it
};

/// Reads `target`'s query into `params` (none of them is required). The error for a 400 that
/// names the problem (an unknown, repeated or empty parameter, a value that is not a plain
/// decimal integer in range), or nullopt when the query is fine.
std::optional<std::string> read_int_params(std::string_view target, std::span<IntParam> params);

/// Parses `text` as a plain decimal integer in [min, max] (no sign, spaces or leading '+'; a
/// fraction of zeros, as in `91.0`, is an integer as OpenAPI's schemas count them).
std::optional<std::int64_t> parse_int_in(std::string_view text, std::int64_t min, std::int64_t max);

}  // namespace ringtrace::common
