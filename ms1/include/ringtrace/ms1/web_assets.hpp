#pragma once
/// @file
/// The dashboard's files, compiled into MS1 from ms1/web/ at build time: nothing is fetched at
/// run time, and the page is served by the same origin as the API it calls.

#include <span>
#include <string_view>

namespace ringtrace::ms1 {

/// One file of the dashboard.
struct WebAsset {
  std::string_view path;          ///< the URL path it is served at ("/" for the page itself)
  std::string_view content_type;  ///< e.g. "text/html; charset=utf-8"
  std::string_view body;          ///< the file's bytes
  std::string_view etag;          ///< quoted strong validator, a hash of the body
};

/// Every file of the dashboard.
std::span<const WebAsset> web_assets();

/// The asset served at `path` (query excluded), or nullptr.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace ringtrace::ms1
