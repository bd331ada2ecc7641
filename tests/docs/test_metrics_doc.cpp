// docs/operations.md's table of metrics ("Health and metrics") against what each service really
// registers: MS1, MS2 and MS3 are built as their processes build them (nothing to connect to, so
// nothing is served) and their registries rendered as a scrape would render them. The table must
// name every family a service registers, with every value of its label, and nothing else; every
// other `ringtrace_…` metric a page of README.md or docs/ names must be a registered one.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/ms1/service/ms1_service.hpp"
#include "ringtrace/ms2/ms2_service.hpp"
#include "ringtrace/ms3/ms3_service.hpp"

namespace fs = std::filesystem;
using namespace ringtrace;

namespace {

const fs::path kRoot = RINGTRACE_SOURCE_DIR;

/// Family name → label name → the values its series carry (a histogram's `le` left out).
using Families = std::map<std::string, std::map<std::string, std::set<std::string>>>;

/// Families and label values of a rendered registry, read back from the exposition text.
Families families_of(const std::string& exposition) {
  Families out;
  std::map<std::string, std::string> types;
  const std::regex type_line("^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\\w+)$");
  const std::regex series_line("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)\\})? \\S+$");
  const std::regex label("([a-zA-Z_][a-zA-Z0-9_]*)=\"([^\"]*)\"");
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type_line)) {
      types[m[1]] = m[2];
      out[m[1]];
      continue;
    }
    if (line.empty() || line.front() == '#' || !std::regex_match(line, m, series_line)) continue;
    std::string name = m[1];
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      const auto base = name.size() > suffix.size() ? name.substr(0, name.size() - suffix.size()) : std::string();
      if (name.ends_with(suffix) && types.count(base) && types[base] == "histogram") name = base;
    }
    const std::string labels = m[3];
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label); it != std::sregex_iterator(); ++it) {
      if ((*it)[1] != "le") out[name][(*it)[1]].insert((*it)[2]);
    }
  }
  return out;
}

/// The three services as their processes build them, with nothing to connect to.
std::map<std::string, Families> registered() {
  spdlog::set_level(spdlog::level::off);
  auto config = common::parse_config("", {});
  config.tracing.enabled = false;  // the span counters are registered all the same
  config.ms1.port = 0;
  config.ms1.ms2_url = "ws://127.0.0.1:1/ws";
  config.database.port = 1;
  config.database.connect_timeout_s = 1;
  config.kafka.brokers = "127.0.0.1:1";
  config.ms2.port = 0;
  config.ms2.admin_port = 0;
  config.ms3.admin_port = 0;
  std::map<std::string, Families> out;
  {
    ms1::Ms1Service ms1(config);
    out["MS1"] = families_of(ms1.metrics().render());
  }
  {
    ms2::Ms2Service ms2(config);
    out["MS2"] = families_of(ms2.metrics().render());
  }
  {
    ms3::Ms3Service ms3(config);
    out["MS3"] = families_of(ms3.metrics().render());
  }
  return out;
}

/// `ringtrace_x` or `ringtrace_x{label="a"|"b"}` inside backticks (a table's `\|` unescaped first).
const std::regex kDocMetric("`(ringtrace_[a-z0-9_]+)(\\{([a-z_]+)=([^}`]*)\\})?`");

void add_doc_metric(Families& into, const std::smatch& m) {
  auto& labels = into[m[1]];
  if (!m[2].matched) return;
  const std::string values = m[4];
  const std::regex quoted("\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(values.begin(), values.end(), quoted); it != std::sregex_iterator(); ++it) {
    labels[m[3]].insert((*it)[1]);
  }
}

std::string unescape_pipes(std::string line) {
  for (auto at = line.find("\\|"); at != std::string::npos; at = line.find("\\|", at)) line.erase(at, 1);
  return line;
}

/// The rows of the first table under "## Health and metrics": first cell (all, MS1, …) → families.
std::map<std::string, Families> documented() {
  std::ifstream in(kRoot / "docs/operations.md");
  EXPECT_TRUE(in) << "cannot read docs/operations.md";
  std::map<std::string, Families> rows;
  bool inside = false;
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) inside = line == "## Health and metrics";
    if (!inside) continue;
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;
      continue;
    }
    in_table = true;
    line = unescape_pipes(line);
    const auto end = line.find('|', 1);
    std::string who = line.substr(1, end - 1);
    who.erase(0, who.find_first_not_of(' '));
    who.erase(who.find_last_not_of(' ') + 1);
    const std::string rest = line.substr(end);
    for (auto it = std::sregex_iterator(rest.begin(), rest.end(), kDocMetric); it != std::sregex_iterator(); ++it) {
      add_doc_metric(rows[who], *it);
    }
  }
  return rows;
}

std::string describe(const std::map<std::string, std::set<std::string>>& labels) {
  std::string out;
  for (const auto& [label, values] : labels) {
    out += " " + label + "=";
    for (const auto& v : values) out += "\"" + v + "\"";
  }
  return out.empty() ? " (no label)" : out;
}

}  // namespace

TEST(MetricsDoc, OperationsTableNamesExactlyWhatEachServiceRegisters) {
  const auto real = registered();
  const auto rows = documented();
  ASSERT_EQ(rows.count("all"), 1u) << "operations.md's metrics table has no `all` row: the table was not read";
  const auto& shared = rows.at("all");
  for (const auto& [name, labels] : shared) {
    for (const auto& [service, families] : real) {
      ASSERT_EQ(families.count(name), 1u) << "operations.md lists " << name << " for all services; " << service
                                          << " does not register it";
      EXPECT_EQ(families.at(name), labels) << name << " in " << service << ": registered" << describe(families.at(name))
                                           << ", documented" << describe(labels);
    }
  }
  for (const auto& [service, families] : real) {
    ASSERT_GE(families.size(), 5u) << service << "'s registry rendered no families";
    ASSERT_EQ(rows.count(service), 1u) << "operations.md's metrics table has no row for " << service;
    Families expected = rows.at(service);
    expected.insert(shared.begin(), shared.end());
    for (const auto& [name, labels] : families) {
      ASSERT_EQ(expected.count(name), 1u) << service << " registers " << name
                                          << ", which operations.md's metrics table does not list for it";
      EXPECT_EQ(expected.at(name), labels) << name << " in " << service << ": registered" << describe(labels)
                                           << ", documented" << describe(expected.at(name));
    }
    for (const auto& [name, labels] : rows.at(service)) {
      EXPECT_EQ(families.count(name), 1u) << "operations.md lists " << name << " for " << service
                                          << ", which does not register it";
    }
  }
}

TEST(MetricsDoc, EveryMetricTheDocsNameIsRegistered) {
  // Names that look like metrics but are not: the harness package and the compose token volume.
  const std::set<std::string> not_metrics = {"ringtrace_harness", "ringtrace_token"};
  Families all;
  for (const auto& [service, families] : registered()) {
    for (const auto& [name, labels] : families) {
      for (const auto& [label, values] : labels) all[name][label].insert(values.begin(), values.end());
      all[name];
    }
  }
  std::vector<fs::path> pages = {kRoot / "README.md"};
  for (const auto& entry : fs::directory_iterator(kRoot / "docs")) {
    if (entry.path().extension() == ".md") pages.push_back(entry.path());
  }
  std::size_t named = 0;
  for (const auto& page : pages) {
    std::ifstream in(page);
    ASSERT_TRUE(in) << "cannot read " << page;
    std::ostringstream text;
    text << in.rdbuf();
    const auto body = unescape_pipes(text.str());
    for (auto it = std::sregex_iterator(body.begin(), body.end(), kDocMetric); it != std::sregex_iterator(); ++it) {
      const std::smatch& m = *it;
      if (not_metrics.count(m[1])) continue;
      ++named;
      const auto relative = fs::relative(page, kRoot).string();
      ASSERT_EQ(all.count(m[1]), 1u) << relative << " names " << m[1] << ", which no service registers";
      Families one;
      add_doc_metric(one, m);
      for (const auto& [label, values] : one.at(m[1])) {
        for (const auto& value : values) {
          EXPECT_EQ(all.at(m[1])[label].count(value), 1u)
              << relative << " names " << m.str() << ", but no service registers " << label << "=\"" << value << "\"";
        }
      }
    }
  }
  EXPECT_GE(named, 30u) << "the pages name fewer metrics than operations.md's table alone: were they read?";
}
