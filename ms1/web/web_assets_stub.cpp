#include "ringtrace/ms1/web_assets.hpp"

namespace ringtrace::ms1 {
std::span<const WebAsset> web_assets() { return {}; }
const WebAsset* find_web_asset(std::string_view) { return nullptr; }
}  // namespace ringtrace::ms1
