#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace ringtrace::docs_test {

/// The repository's root, where the pages and files the docs tests compare live.
inline const std::filesystem::path kRoot = RINGTRACE_SOURCE_DIR;

/// The whole text of a file; a file that cannot be read fails the calling test and reads as "".
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace ringtrace::docs_test
