// docs/operations.md's row for the gateway's `GET /traces/{trace_id}` against
// gateway/ringtrace.conf.template, which defines it: the statuses the row names must be every status
// the template's /traces/ locations can answer (their `return`s, the named locations their
// `error_page`s send to, 200 for what Jaeger relays) and no other. Other pages link to the row.
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

namespace fs = std::filesystem;

namespace {

using ringtrace::docs_test::kRoot;
using ringtrace::docs_test::read_text;

/// One `location` block of the template: what follows `location` and the text between its braces.
struct Location {
  std::string head;
  std::string body;
};

/// The template without comments, braces inside quotes kept out of the block structure.
std::vector<Location> locations(const std::string& conf) {
  std::vector<Location> out;
  std::string clean;  // comments dropped; quoted text kept as it is
  char quote = 0;
  for (std::size_t i = 0; i < conf.size(); ++i) {
    const char c = conf[i];
    if (quote == 0 && c == '#') {
      while (i < conf.size() && conf[i] != '\n') ++i;
      clean += '\n';
      continue;
    }
    if (quote == 0 && (c == '\'' || c == '"')) {
      quote = c;
    } else if (quote != 0 && c == quote && conf[i - 1] != '\\') {
      quote = 0;
    }
    clean += c;
  }
  const std::string keyword = "location ";
  for (auto at = clean.find(keyword); at != std::string::npos; at = clean.find(keyword, at + 1)) {
    if (at > 0 && !std::isspace(static_cast<unsigned char>(clean[at - 1]))) continue;
    // The head ends at the first brace outside quotes; the body at its matching brace.
    std::size_t i = at + keyword.size();
    quote = 0;
    for (; i < clean.size(); ++i) {
      if (quote == 0 && (clean[i] == '\'' || clean[i] == '"')) {
        quote = clean[i];
      } else if (quote != 0 && clean[i] == quote) {
        quote = 0;
      } else if (quote == 0 && clean[i] == '{') {
        break;
      }
    }
    const std::size_t open = i;
    int depth = 0;
    quote = 0;
    for (; i < clean.size(); ++i) {
      const char c = clean[i];
      if (quote == 0 && (c == '\'' || c == '"')) {
        quote = c;
      } else if (quote != 0 && c == quote && clean[i - 1] != '\\') {
        quote = 0;
      } else if (quote == 0 && c == '{') {
        ++depth;
      } else if (quote == 0 && c == '}' && --depth == 0) {
        break;
      }
    }
    out.push_back({clean.substr(at + keyword.size(), open - at - keyword.size()), clean.substr(open + 1, i - open - 1)});
  }
  return out;
}

std::set<int> returns_of(const std::string& body) {
  std::set<int> statuses;
  const std::regex ret("\\breturn\\s+([1-5][0-9][0-9])\\b");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), ret); it != std::sregex_iterator(); ++it) {
    statuses.insert(std::stoi((*it)[1]));
  }
  return statuses;
}

/// Every status a `/traces/` location of the template can answer.
std::set<int> template_statuses() {
  const auto all = locations(read_text(kRoot / "gateway/ringtrace.conf.template"));
  std::map<std::string, std::set<int>> named;
  for (const auto& location : all) {
    const std::regex name("^\\s*(@\\w+)\\s*$");
    std::smatch m;
    if (std::regex_match(location.head, m, name)) named[m[1]] = returns_of(location.body);
  }
  std::set<int> statuses;
  std::size_t traces = 0;
  for (const auto& location : all) {
    if (location.head.find("/traces/") == std::string::npos) continue;
    ++traces;
    const auto own = returns_of(location.body);
    statuses.insert(own.begin(), own.end());
    if (location.body.find("proxy_pass ") != std::string::npos) statuses.insert(200);
    const std::regex error_page("\\berror_page\\s+[^;]*?(@\\w+)\\s*;");
    for (auto it = std::sregex_iterator(location.body.begin(), location.body.end(), error_page);
         it != std::sregex_iterator(); ++it) {
      EXPECT_EQ(named.count((*it)[1]), 1u) << "error_page names " << (*it)[1] << ", which the template does not define";
      const auto& target = named[(*it)[1]];
      statuses.insert(target.begin(), target.end());
    }
  }
  EXPECT_GE(traces, 1u) << "no /traces/ location in the template: was it read?";
  return statuses;
}

/// The statuses named in the answer cell of operations.md's `GET /traces/{trace_id}` row.
std::set<int> documented_statuses(const std::string& page) {
  std::istringstream in(page);
  const std::regex status("\\b([1-5][0-9][0-9])\\b");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| `GET /traces/{trace_id}` |", 0) != 0) continue;
    std::set<int> statuses;
    const auto answer = line.substr(line.find('|', 1));
    for (auto it = std::sregex_iterator(answer.begin(), answer.end(), status); it != std::sregex_iterator(); ++it) {
      statuses.insert(std::stoi((*it)[1]));
    }
    return statuses;
  }
  ADD_FAILURE() << "docs/operations.md has no row `GET /traces/{trace_id}`";
  return {};
}

std::string list(const std::set<int>& statuses) {
  std::string out;
  for (const int s : statuses) out += " " + std::to_string(s);
  return out;
}

}  // namespace

TEST(GatewayDoc, TracesRowNamesEveryStatusTheTemplateAnswers) {
  const auto defined = template_statuses();
  ASSERT_GE(defined.size(), 4u) << "the template's /traces/ statuses were not read:" << list(defined);
  const auto documented = documented_statuses(read_text(kRoot / "docs/operations.md"));
  EXPECT_EQ(documented, defined) << "operations.md's GET /traces/{trace_id} row names" << list(documented)
                                 << "; gateway/ringtrace.conf.template answers" << list(defined);
}

TEST(GatewayDoc, LocationsAreReadWithQuotedBracesInside) {
  // A return body with braces and a quoted pattern with a {32} must not end a block early.
  const auto found = locations(
      "location ~ \"^/traces/[0-9a-f]{32}$\" { error_page 404 @gone; return 400 '{\"error\":\"x\"}'; }\n"
      "location @gone { return 404 '{\"error\":\"}\"}'; }\n");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(returns_of(found[0].body), std::set<int>{400});
  EXPECT_EQ(returns_of(found[1].body), std::set<int>{404});
}
