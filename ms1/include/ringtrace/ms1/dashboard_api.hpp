#pragma once
/// @file
/// The dashboard's page and files, GET / and GET /assets/{name}, served from what was compiled
/// into MS1: one origin for the page and the API it calls, nothing fetched elsewhere.

#include <span>
#include <string_view>

#include "ringtrace/common/http_session.hpp"
#include "ringtrace/ms1/web_assets.hpp"

namespace ringtrace::ms1 {

/// Answers from a fixed set of files, with validators so a reload costs a 304, and headers that
/// keep the page to its own origin. Runs on the event loop; answers at once.
class DashboardApi final : public common::RequestHandler {
 public:
  /// Serves `assets` (the compiled-in ones by default); they must outlive the handler.
  explicit DashboardApi(std::span<const WebAsset> assets = web_assets()) : assets_(assets) {}

  /// 200 with the file, 304 when If-None-Match names its ETag, 404 for a file it does not have.
  void handle(common::HttpRequest&& request, common::Responder respond) override;

 private:
  std::span<const WebAsset> assets_;
};

/// Whether an If-None-Match value (`*`, or a list of entity tags, weak ones included) matches `etag`.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace ringtrace::ms1
