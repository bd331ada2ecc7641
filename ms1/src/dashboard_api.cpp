#include "ringtrace/ms1/dashboard_api.hpp"

#include <boost/beast/http/field.hpp>

#include "ringtrace/common/http_target.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
using common::path_of;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// An entity tag without its weakness marker: If-None-Match compares weakly (RFC 9110 13.1.2).
std::string_view opaque(std::string_view tag) { return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag; }

}  // namespace

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (trim(if_none_match) == "*") return !etag.empty();
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    const auto tag = trim(if_none_match.substr(0, comma));
    if (!tag.empty() && opaque(tag) == opaque(etag)) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

void DashboardApi::handle(common::HttpRequest&& request, common::Responder respond) {
  const auto path = path_of(request.target());
  const WebAsset* asset = nullptr;
  for (const auto& candidate : assets_) {
    if (candidate.path == path) asset = &candidate;
  }
  if (asset == nullptr) {
    return respond(common::error_json(http::status::not_found, "no dashboard file " + std::string(path)));
  }
  const bool unchanged = etag_matches(request[http::field::if_none_match], asset->etag);
  common::HttpResponse response{unchanged ? http::status::not_modified : http::status::ok, request.version()};
  response.set(http::field::etag, asset->etag);
  // Always revalidated: a new MS1 build must show at once, and the 304 makes that cheap.
  response.set(http::field::cache_control, "no-cache");
  response.set("Content-Security-Policy", "default-src 'self'");
  response.set("X-Content-Type-Options", "nosniff");
  if (!unchanged) {
    response.set(http::field::content_type, asset->content_type);
    response.body() = std::string(asset->body);
  }
  response.prepare_payload();
  respond(std::move(response));
}

}  // namespace ringtrace::ms1
