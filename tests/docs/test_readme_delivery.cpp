// README's one line per delivery mode against common::DeliveryPolicy: each line must say what the
// policy does at every hop (MS1's resends, MS2's producer acknowledgement, retries and
// idempotence, MS3's commit point and POST attempts), in the words below, or inherit that hop from
// another mode it names ("As at-least-once") whose policy does the same there.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "source_text.hpp"

#include "ringtrace/common/delivery.hpp"

namespace fs = std::filesystem;
using ringtrace::common::Attempts;
using ringtrace::common::CommitPoint;
using ringtrace::common::Delivery;
using ringtrace::common::DeliveryPolicy;
using ringtrace::common::kDeliveryModes;

namespace {

std::string readme() { return ringtrace::docs_test::read_text(ringtrace::docs_test::kRoot / "README.md"); }

/// The bullet `- \`mode\`…` under README's "## Delivery guarantees" heading, by mode.
std::map<Delivery, std::string> mode_lines(const std::string& text) {
  std::map<Delivery, std::string> lines;
  std::istringstream in(text);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) inside = line.rfind("## Delivery guarantees", 0) == 0;
    if (!inside) continue;
    for (const auto mode : kDeliveryModes) {
      if (line.rfind("- `" + std::string(to_string(mode)) + "`", 0) == 0) lines[mode] = line;
    }
  }
  return lines;
}

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

std::string_view property(const DeliveryPolicy& policy, std::string_view name) {
  for (const auto& [key, value] : policy.producer) {
    if (key == name) return value;
  }
  return {};
}

/// One hop's wording: the phrase a line uses for what `policy` does there.
struct Hop {
  const char* name;
  std::string (*phrase)(const DeliveryPolicy&);
};

const Hop kHops[] = {
    {"MS1 → MS2", [](const DeliveryPolicy& p) -> std::string {
       return p.ms1_send == Attempts::kOnce ? "sends a message once" : "resends";
     }},
    {"MS2 acks", [](const DeliveryPolicy& p) { return "`acks=" + std::string(property(p, "acks")) + "`"; }},
    {"MS2 retries", [](const DeliveryPolicy& p) -> std::string {
       return property(p, "message.send.max.retries") == "0" ? "no retries" : "and retries";
     }},
    {"MS2 idempotence", [](const DeliveryPolicy& p) -> std::string {
       return property(p, "enable.idempotence") == "true" ? "`enable.idempotence=true`" : "no idempotence";
     }},
    {"MS3 commit", [](const DeliveryPolicy& p) -> std::string {
       return p.commit == CommitPoint::kBeforeStore ? "commits the offsets before its POSTs" : "commits only after";
     }},
    {"MS3 → MS1", [](const DeliveryPolicy& p) -> std::string {
       return p.ms3_store == Attempts::kOnce ? "POSTs each record once" : "retries its POSTs";
     }},
};

}  // namespace

TEST(ReadmeDelivery, NamesTheKeyAndLinksTheGuarantees) {
  const auto text = readme();
  EXPECT_TRUE(has(text, "## Delivery guarantees: `kafka.delivery`")) << "README names kafka.delivery in a heading";
  EXPECT_TRUE(has(text, "(docs/guarantees.md)")) << "README links docs/guarantees.md";
  // At most once loses messages by design: no promise of the whole ring may say otherwise.
  auto lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  EXPECT_FALSE(has(lower, "nothing is lost"));
}

TEST(ReadmeDelivery, EachModeLineSaysWhatItsPolicyDoes) {
  const auto lines = mode_lines(readme());
  for (const auto mode : kDeliveryModes) {
    const auto policy = DeliveryPolicy::of(mode);
    const auto line = lines.find(mode);
    ASSERT_NE(line, lines.end()) << "README has no line \"- `" << to_string(mode) << "`…\"";
    SCOPED_TRACE(line->second);
    // "As <mode>" hands every hop the line does not spell out to that mode's policy.
    const auto inherited = std::find_if(kDeliveryModes.begin(), kDeliveryModes.end(), [&](Delivery other) {
      return other != mode && has(line->second, "As " + std::string(to_string(other)));
    });
    for (const auto& hop : kHops) {
      const auto own = hop.phrase(policy);
      const bool said = has(line->second, own);
      const bool inherits = inherited != kDeliveryModes.end() && hop.phrase(DeliveryPolicy::of(*inherited)) == own;
      EXPECT_TRUE(said || inherits) << hop.name << ": the line should say \"" << own << "\"";
      std::set<std::string> wrongs;
      for (const auto other : kDeliveryModes) wrongs.insert(hop.phrase(DeliveryPolicy::of(other)));
      for (const auto& wrong : wrongs) {
        if (wrong == own || has(own, wrong)) continue;
        EXPECT_FALSE(has(line->second, wrong)) << hop.name << ": says \"" << wrong << "\", which "
                                               << to_string(mode) << " does not do";
      }
    }
  }
}
