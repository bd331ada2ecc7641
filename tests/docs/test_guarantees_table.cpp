// docs/guarantees.md's table of the three delivery modes against common::DeliveryPolicy, the one
// place a mode's meaning is decided: each cell must say what the policy does at that hop, and a
// cell that reads "as <mode>" must belong to a policy that does the same there.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ringtrace/common/delivery.hpp"

namespace fs = std::filesystem;
using ringtrace::common::Delivery;
using ringtrace::common::DeliveryPolicy;
using ringtrace::common::kDeliveryModes;

namespace {

/// The cells of one Markdown table row, trimmed, without the outer pipes.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line.substr(1));
  while (std::getline(in, cell, '|')) {
    const auto first = cell.find_first_not_of(' ');
    const auto last = cell.find_last_not_of(' ');
    out.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
  }
  return out;
}

/// The table under "# Delivery guarantees": row title → one cell per mode, in the header's order.
struct GuaranteesTable {
  std::vector<std::string> header;
  std::map<std::string, std::vector<std::string>> rows;
};

GuaranteesTable read_table() {
  std::ifstream in(fs::path(RINGTRACE_SOURCE_DIR) / "docs" / "guarantees.md");
  EXPECT_TRUE(in) << "cannot read docs/guarantees.md";
  GuaranteesTable table;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| |", 0) == 0 && table.header.empty()) {
      table.header = cells(line);
    } else if (!table.header.empty() && line.rfind("|---", 0) == 0) {
      continue;
    } else if (!table.header.empty() && line.rfind("| ", 0) == 0) {
      auto row = cells(line);
      table.rows[row.front()] = std::vector<std::string>(row.begin() + 1, row.end());
    } else if (!table.header.empty()) {
      break;  // the first table ends at its first non-row line
    }
  }
  return table;
}

std::string spelled(Delivery mode) { return std::string(to_string(mode)); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Checks one hop's row: a cell "as <other mode>" needs `same` to hold between the two policies;
/// any other cell must satisfy `says` for its own policy.
void check_row(const GuaranteesTable& table, const std::string& title,
               const std::function<bool(const DeliveryPolicy&, const DeliveryPolicy&)>& same,
               const std::function<void(const DeliveryPolicy&, const std::string&)>& says) {
  const auto row = table.rows.find(title);
  ASSERT_NE(row, table.rows.end()) << "docs/guarantees.md has no row \"" << title << "\"";
  ASSERT_EQ(row->second.size(), kDeliveryModes.size()) << title;
  for (std::size_t i = 0; i < kDeliveryModes.size(); ++i) {
    const auto policy = DeliveryPolicy::of(kDeliveryModes[i]);
    const auto& cell = row->second[i];
    SCOPED_TRACE(title + ", " + spelled(policy.mode) + ": " + cell);
    if (cell.rfind("as ", 0) == 0) {
      const auto other = std::find_if(kDeliveryModes.begin(), kDeliveryModes.end(),
                                      [&](Delivery d) { return cell == "as " + spelled(d); });
      ASSERT_NE(other, kDeliveryModes.end()) << "\"as\" names no mode";
      EXPECT_TRUE(same(policy, DeliveryPolicy::of(*other))) << "the policies differ at this hop";
    } else {
      says(policy, cell);
    }
  }
}

TEST(GuaranteesTable, HeaderListsTheModesInOrder) {
  const auto table = read_table();
  ASSERT_EQ(table.header.size(), kDeliveryModes.size() + 1);
  for (std::size_t i = 0; i < kDeliveryModes.size(); ++i) {
    EXPECT_TRUE(contains(table.header[i + 1], "`" + spelled(kDeliveryModes[i]) + "`")) << table.header[i + 1];
  }
}

TEST(GuaranteesTable, Ms1ResendsOrGivesUpAsThePolicySays) {
  check_row(
      read_table(), "MS1 → MS2 (WebSocket)",
      [](const DeliveryPolicy& a, const DeliveryPolicy& b) { return a.ms1_send == b.ms1_send; },
      [](const DeliveryPolicy& p, const std::string& cell) {
        EXPECT_EQ(contains(cell, "sent again"), p.resends());
        EXPECT_EQ(contains(cell, "given up"), !p.resends());
      });
}

TEST(GuaranteesTable, ProducerCellNamesEveryPropertyThePolicySets) {
  check_row(
      read_table(), "MS2 → Kafka (producer)",
      [](const DeliveryPolicy& a, const DeliveryPolicy& b) {
        return std::equal(a.producer.begin(), a.producer.end(), b.producer.begin(), b.producer.end());
      },
      [](const DeliveryPolicy& p, const std::string& cell) {
        for (const auto& [name, value] : p.producer) {
          EXPECT_TRUE(contains(cell, "`" + std::string(name) + "=" + std::string(value) + "`"))
              << name << "=" << value << " is not in the cell";
        }
      });
}

TEST(GuaranteesTable, Ms3CommitsAndRetriesAsThePolicySays) {
  check_row(
      read_table(), "Kafka → MS3 (consumer)",
      [](const DeliveryPolicy& a, const DeliveryPolicy& b) {
        return a.commit == b.commit && a.ms3_store == b.ms3_store;
      },
      [](const DeliveryPolicy& p, const std::string& cell) {
        EXPECT_EQ(contains(cell, "**before**"), p.commits_first());
        EXPECT_EQ(contains(cell, "**after**"), !p.commits_first());
        EXPECT_EQ(contains(cell, "no retry"), p.stores_once());
        EXPECT_EQ(contains(cell, "retried"), !p.stores_once());
      });
}

}  // namespace
