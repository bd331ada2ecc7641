// docs/operations.md's list of MS1's routes against docs/openapi.yaml, the API's reference: the
// page says what each route is for and links the rest, so the list is all it restates, and it
// must name every operation of openapi.yaml and nothing else.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = RINGTRACE_SOURCE_DIR;

/// `GET /start`, … : every operation openapi.yaml describes.
std::set<std::string> openapi_operations() {
  std::set<std::string> operations;
  for (const auto& path : YAML::LoadFile((kRoot / "docs/openapi.yaml").string())["paths"]) {
    for (const auto& operation : path.second) {
      auto method = operation.first.as<std::string>();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      operations.insert(method + " " + path.first.as<std::string>());
    }
  }
  return operations;
}

/// The operations named in the first column of the first table under `heading` in `page`.
std::set<std::string> listed_operations(const fs::path& page, const std::string& heading) {
  std::ifstream in(page);
  EXPECT_TRUE(in) << "cannot read " << page;
  const std::regex operation("`(GET|POST|PUT|PATCH|DELETE) (/[^`?\\s]*)");
  std::set<std::string> operations;
  bool inside = false;
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) inside = line == heading;
    if (!inside) continue;
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;  // the first table ended
      continue;
    }
    in_table = true;
    const auto first_cell = line.substr(1, line.find('|', 1) - 1);
    for (auto it = std::sregex_iterator(first_cell.begin(), first_cell.end(), operation);
         it != std::sregex_iterator(); ++it) {
      operations.insert((*it)[1].str() + " " + (*it)[2].str());
    }
  }
  return operations;
}

}  // namespace

TEST(ApiDoc, OperationsListsEveryRouteOfOpenApiAndNoOther) {
  const auto reference = openapi_operations();
  ASSERT_GE(reference.size(), 8u) << "docs/openapi.yaml's paths were not read";
  const auto listed = listed_operations(kRoot / "docs/operations.md", "## MS1's HTTP API (127.0.0.1:8080)");
  for (const auto& op : reference) {
    EXPECT_EQ(listed.count(op), 1u) << "docs/operations.md does not list " << op << ", which openapi.yaml describes";
  }
  for (const auto& op : listed) {
    EXPECT_EQ(reference.count(op), 1u) << "docs/operations.md lists " << op << ", which openapi.yaml does not describe";
  }
}
