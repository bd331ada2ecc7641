# Writes OUTPUT, a C++ source holding the dashboard's files (SOURCE_DIR/index.html, dashboard.js,
# dashboard.css) as byte arrays, with their content types and strong ETags (a SHA-256 of the
# bytes). Run at build time by ms1/web/CMakeLists.txt, so an edit of a file rebuilds MS1.
#
#   cmake -DSOURCE_DIR=ms1/web -DOUTPUT=web_assets.cpp -P embed_assets.cmake

if(NOT SOURCE_DIR OR NOT OUTPUT)
  message(FATAL_ERROR "embed_assets.cmake: pass -DSOURCE_DIR=<ms1/web> -DOUTPUT=<file.cpp>")
endif()

# URL path|file|media type (every file is UTF-8).
set(assets
  "/|index.html|text/html"
  "/assets/dashboard.js|dashboard.js|text/javascript"
  "/assets/dashboard.css|dashboard.css|text/css")

set(arrays "")
set(entries "")
set(index 0)
foreach(asset IN LISTS assets)
  string(REPLACE "|" ";" fields "${asset}")
  list(GET fields 0 url)
  list(GET fields 1 name)
  list(GET fields 2 type)
  set(file "${SOURCE_DIR}/${name}")
  file(SIZE "${file}" size)
  if(size EQUAL 0)
    message(FATAL_ERROR "embed_assets.cmake: ${file} is empty")
  endif()
  file(SHA256 "${file}" hash)
  file(READ "${file}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)   # 16 bytes a line (CMake's regex has no {n})
  string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
  string(APPEND arrays "// ${name}: ${size} bytes\nconst unsigned char kAsset${index}[] = {\n    ${bytes}};\n\n")
  string(APPEND entries "      {\"${url}\", \"${type}; charset=utf-8\", view(kAsset${index}, sizeof kAsset${index}), \"\\\"${hash}\\\"\"},\n")
  math(EXPR index "${index} + 1")
endforeach()

set(text "// Generated at build time by ms1/web/embed_assets.cmake from ms1/web/: edit those files, not this one.
#include <array>

#include \"ringtrace/ms1/web_assets.hpp\"

namespace ringtrace::ms1 {
namespace {

std::string_view view(const unsigned char* bytes, std::size_t size) {
  return {reinterpret_cast<const char*>(bytes), size};
}

${arrays}}  // namespace

std::span<const WebAsset> web_assets() {
  // Built on first use, so a caller in another file's static initialiser sees it complete.
  static const std::array<WebAsset, ${index}> assets{{
${entries}  }};
  return assets;
}

const WebAsset* find_web_asset(std::string_view path) {
  for (const auto& asset : web_assets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

}  // namespace ringtrace::ms1
")
file(WRITE "${OUTPUT}" "${text}")
