#pragma once
/// @file
/// MS1's routing table, kept apart from the HTTP server so it is testable and listable.

#include <span>
#include <string_view>

namespace ringtrace::ms1 {

/// The handlers MS1 has.
enum class Route { kStart, kStop, kStore, kStatus, kHealthz, kMetrics, kNotFound, kMethodNotAllowed };

/// A served path and the one method it accepts.
struct RouteEntry {
  std::string_view method;  ///< e.g. "GET"
  std::string_view path;    ///< without query
  Route route;              ///< handler
};

/// Every route MS1 serves (both seed spellings of /start and /stop).
std::span<const RouteEntry> routes();

/// Picks the handler for `method` and `target` (query ignored); 404 for unknown paths, 405 for
/// known paths with another method.
Route route(std::string_view method, std::string_view target);

/// The methods `target`'s path accepts, for the `Allow` header of a 405 ("" if unknown).
std::string_view allowed_method(std::string_view target);

}  // namespace ringtrace::ms1
