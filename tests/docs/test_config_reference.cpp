// The written documentation against the code: docs/configuration.md's key table against
// config_reference(), config/ringtrace.yaml against the built-in defaults, and every relative
// link of README.md and docs/*.md against the files and headings it points at.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "source_text.hpp"
#include <yaml-cpp/yaml.h>

#include "ringtrace/common/config.hpp"

namespace fs = std::filesystem;
using ringtrace::common::config_reference;
using ringtrace::common::ConfigEntry;

namespace {

using ringtrace::docs_test::kRoot;
using ringtrace::docs_test::read_text;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

/// `x` → x; a code span holding `""` stands for the empty string.
std::string unquote(const std::string& cell) {
  if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`') {
    const auto inner = cell.substr(1, cell.size() - 2);
    return inner == "\"\"" ? "" : inner;
  }
  return cell;
}

/// The row docs/configuration.md must carry for `entry`, printed when it does not.
std::string expected_row(const ConfigEntry& entry) {
  const auto shown = entry.default_value.empty() ? std::string("\"\"") : entry.default_value;
  return "| `" + entry.key + "` | " + entry.type + " | `" + shown + "` | " + entry.description + " |";
}

/// The rows of the table under `## Every key`, by key: {type, default, description}.
std::map<std::string, std::vector<std::string>> documented_keys(const std::string& markdown) {
  std::map<std::string, std::vector<std::string>> rows;
  bool inside = false;
  for (const auto& line : lines_of(markdown)) {
    if (line.rfind("## ", 0) == 0) inside = line == "## Every key";
    if (!inside || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream in(line.substr(1));
    for (std::string cell; std::getline(in, cell, '|');) cells.push_back(trim(cell));
    if (!cells.empty() && cells.back().empty()) cells.pop_back();
    EXPECT_EQ(cells.size(), 4u) << "a key row has four cells (key, type, default, meaning): " << line;
    if (cells.size() != 4) continue;
    const auto key = unquote(cells[0]);
    EXPECT_EQ(rows.count(key), 0u) << key << " is documented twice";
    rows[key] = {cells[1], unquote(cells[2]), cells[3]};
  }
  return rows;
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
std::string anchor(const std::string& heading) {
  std::string slug;
  for (const unsigned char ch : heading) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch >= 0x80) {
      slug += static_cast<char>(std::tolower(ch));
    } else if (ch == ' ') {
      slug += '-';
    }
  }
  return slug;
}

std::set<std::string> anchors_of(const fs::path& file) {
  std::set<std::string> anchors;
  bool fenced = false;
  for (const auto& line : lines_of(read_text(file))) {
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    if (fenced || line.empty() || line.front() != '#') continue;
    const auto text = line.find(' ');
    if (text != std::string::npos) anchors.insert(anchor(line.substr(text + 1)));
  }
  return anchors;
}

std::vector<fs::path> markdown_files() {
  std::vector<fs::path> files = {kRoot / "README.md"};
  for (const auto& entry : fs::directory_iterator(kRoot / "docs")) {
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST(ConfigurationDoc, EveryKeyOfTheCodeIsDocumentedWithItsDefault) {
  const auto documented = documented_keys(read_text(kRoot / "docs/configuration.md"));
  for (const auto& entry : config_reference()) {
    const auto row = documented.find(entry.key);
    if (row == documented.end()) {
      ADD_FAILURE() << entry.key << " is not in docs/configuration.md; add\n" << expected_row(entry);
      continue;
    }
    EXPECT_EQ(row->second[1], entry.default_value) << entry.key << ": the default; the row should read\n"
                                                  << expected_row(entry);
    EXPECT_EQ(row->second[0], entry.type) << entry.key << ": the type; the row should read\n" << expected_row(entry);
    EXPECT_EQ(row->second[2], entry.description) << entry.key << ": the meaning; the row should read\n"
                                                << expected_row(entry);
  }
}

TEST(ConfigurationDoc, DocumentsNoKeyTheCodeLacks) {
  const auto reference = config_reference();
  const auto documented = documented_keys(read_text(kRoot / "docs/configuration.md"));
  EXPECT_GE(documented.size(), 30u) << "the table under '## Every key' was not found";
  for (const auto& [key, cells] : documented) {
    const bool known =
        std::any_of(reference.begin(), reference.end(), [&](const ConfigEntry& e) { return e.key == key; });
    EXPECT_TRUE(known) << key << " is documented but no such key exists";
  }
}

TEST(ConfigurationDoc, TheShippedFileListsEveryKeyAtItsDefault) {
  const auto path = kRoot / "config/ringtrace.yaml";
  const auto shipped = ringtrace::common::load_config(path.string(), {});
  const auto defaults = ringtrace::common::parse_config("", {});
  std::set<std::string> listed;
  for (const auto& section : YAML::LoadFile(path.string())) {
    for (const auto& entry : section.second) {
      listed.insert(section.first.as<std::string>() + "." + entry.first.as<std::string>());
    }
  }
  for (const auto& entry : config_reference()) {
    EXPECT_EQ(listed.count(entry.key), 1u) << "config/ringtrace.yaml lacks " << entry.key;
    EXPECT_EQ(ringtrace::common::config_value(shipped, entry.key), ringtrace::common::config_value(defaults, entry.key))
        << "config/ringtrace.yaml sets " << entry.key << " away from its built-in default";
  }
}

TEST(Links, EveryRelativeLinkAndAnchorResolves) {
  // [text](target) outside code spans; http(s) and mailto targets are not checked here.
  const std::regex link(R"(\[[^\]`]*\]\(([^)\s]+)\))");
  for (const auto& file : markdown_files()) {
    bool fenced = false;
    for (const auto& line : lines_of(read_text(file))) {
      if (line.rfind("```", 0) == 0) fenced = !fenced;
      if (fenced) continue;
      for (auto it = std::sregex_iterator(line.begin(), line.end(), link); it != std::sregex_iterator(); ++it) {
        const std::string target = (*it)[1];
        if (target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0) continue;
        const auto hash = target.find('#');
        const auto path_part = target.substr(0, hash);
        const auto resolved = path_part.empty() ? file : (file.parent_path() / path_part).lexically_normal();
        EXPECT_TRUE(fs::exists(resolved)) << file.filename() << " links to a missing " << target;
        if (hash == std::string::npos || !fs::exists(resolved) || resolved.extension() != ".md") continue;
        EXPECT_EQ(anchors_of(resolved).count(target.substr(hash + 1)), 1u)
            << file.filename() << " links to " << target << ", a heading " << resolved.filename() << " lacks";
      }
    }
  }
}
