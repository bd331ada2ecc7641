#pragma once
/// @file
/// MS1's routing table, kept apart from the HTTP server so it is testable and listable; reading a
/// target's path and query parameters is common::http_target's.

#include <span>
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

}  // namespace ringtrace::ms1
