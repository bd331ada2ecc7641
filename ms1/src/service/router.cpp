#include "ringtrace/ms1/service/router.hpp"

#include <array>

#include "ringtrace/common/http_target.hpp"

namespace ringtrace::ms1 {

using common::path_of;

namespace {

constexpr std::array kRoutes = {
    RouteEntry{"GET", "/start", Route::kStart},
    RouteEntry{"GET", "/start/", Route::kStart},
    RouteEntry{"GET", "/stop", Route::kStop},
    RouteEntry{"GET", "/stop/", Route::kStop},
    RouteEntry{"POST", "/store", Route::kStore},
    RouteEntry{"GET", "/status", Route::kStatus},
    RouteEntry{"GET", "/healthz", Route::kHealthz},
    RouteEntry{"GET", "/metrics", Route::kMetrics},
    RouteEntry{"GET", "/sessions", Route::kSessions},
    RouteEntry{"GET", "/sessions/{id}", Route::kSession},
};

/// Whether `path` is served by `entry`'s path (a `{…}` last segment matches one non-empty segment).
bool matches(std::string_view pattern, std::string_view path) {
  const auto brace = pattern.find('{');
  if (brace == std::string_view::npos) return pattern == path;
  if (path.substr(0, brace) != pattern.substr(0, brace)) return false;
  const auto rest = path.substr(brace);
  return !rest.empty() && rest.find('/') == std::string_view::npos;
}

}  // namespace

std::span<const RouteEntry> routes() { return kRoutes; }

Route route(std::string_view method, std::string_view target) {
  const auto path = path_of(target);
  bool known_path = false;
  for (const auto& entry : kRoutes) {
    if (!matches(entry.path, path)) continue;
    known_path = true;
    if (entry.method == method) return entry.route;
  }
  return known_path ? Route::kMethodNotAllowed : Route::kNotFound;
}

std::string_view allowed_method(std::string_view target) {
  const auto path = path_of(target);
  for (const auto& entry : kRoutes) {
    if (matches(entry.path, path)) return entry.method;
  }
  return {};
}

}  // namespace ringtrace::ms1
