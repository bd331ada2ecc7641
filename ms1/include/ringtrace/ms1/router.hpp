#pragma once
/// @file
/// MS1's routing table and the reading of request targets (path parameters, query parameters),
/// kept apart from the HTTP server so they are testable and listable.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringtrace::ms1 {

/// The handlers MS1 has.
enum class Route {
  kStart,
  kStop,
  kStore,
  kStatus,
  kHealthz,
  kMetrics,
  kSessions,  ///< GET /sessions
  kSession,   ///< GET /sessions/{id}
  kTrace,     ///< GET /traces/{trace_id}
  kPage,      ///< GET /, the dashboard
  kAsset,     ///< GET /assets/{name}, the dashboard's files
  kNotFound,
  kMethodNotAllowed,
};

/// A served path and the one method it accepts.
struct RouteEntry {
  std::string_view method;  ///< e.g. "GET"
  /// Without query; a last segment in braces (`/sessions/{id}`) matches any one non-empty
  /// segment, spelled as OpenAPI spells it so the documentation test compares them as they are.
  std::string_view path;
  Route route;  ///< handler
};

/// Every route MS1 serves (both seed spellings of /start and /stop).
std::span<const RouteEntry> routes();

/// Picks the handler for `method` and `target` (query ignored); 404 for unknown paths, 405 for
/// known paths with another method.
Route route(std::string_view method, std::string_view target);

/// The methods `target`'s path accepts, for the `Allow` header of a 405 ("" if unknown).
std::string_view allowed_method(std::string_view target);

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

}  // namespace ringtrace::ms1
