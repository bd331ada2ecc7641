#include "ringtrace/ms1/router.hpp"

#include <array>

namespace ringtrace::ms1 {

namespace {

constexpr std::array kRoutes = {
    RouteEntry{"GET", "/start", Route::kStart},     RouteEntry{"GET", "/start/", Route::kStart},
    RouteEntry{"GET", "/stop", Route::kStop},       RouteEntry{"GET", "/stop/", Route::kStop},
    RouteEntry{"POST", "/store", Route::kStore},    RouteEntry{"GET", "/status", Route::kStatus},
    RouteEntry{"GET", "/healthz", Route::kHealthz}, RouteEntry{"GET", "/metrics", Route::kMetrics},
};

std::string_view path_of(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

}  // namespace

std::span<const RouteEntry> routes() { return kRoutes; }

Route route(std::string_view method, std::string_view target) {
  const auto path = path_of(target);
  bool known_path = false;
  for (const auto& entry : kRoutes) {
    if (entry.path != path) continue;
    known_path = true;
    if (entry.method == method) return entry.route;
  }
  return known_path ? Route::kMethodNotAllowed : Route::kNotFound;
}

std::string_view allowed_method(std::string_view target) {
  const auto path = path_of(target);
  for (const auto& entry : kRoutes) {
    if (entry.path == path) return entry.method;
  }
  return {};
}

}  // namespace ringtrace::ms1
