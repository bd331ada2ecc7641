#include "ringtrace/ms1/ring/store_processor.hpp"

#include <boost/beast/core/string.hpp>

namespace ringtrace::ms1 {

namespace {

/// MariaDB's DATETIME starts at the year 1000 and PostgreSQL has no year 0: older stamps, which
/// no clock of the ring makes, are refused before they reach the database.
constexpr common::Timestamp kEarliestStorable{std::chrono::sys_days{std::chrono::year{1000} / 1 / 1}};

/// The first stamp of `message` the database cannot store, as an error text; empty when all can be.
std::string unstorable_stamp(const common::Message& message, common::Naming naming) {
  for (std::size_t i = 0; i < common::kHopCount; ++i) {
    const auto& ts = message.stamps[i];
    if (ts && *ts < kEarliestStorable) {
      return std::string(common::field_name(naming, static_cast<common::Hop>(i))) +
             " is before the year 1000, which the database cannot store";
    }
  }
  return {};
}

}  // namespace

/// Media types are case-insensitive (RFC 9110 8.3.1); parameters such as charset may follow.
bool is_json_media_type(std::string_view type) {
  constexpr std::string_view kJson = "application/json";
  if (type.size() < kJson.size() || !boost::beast::iequals(type.substr(0, kJson.size()), kJson)) return false;
  const auto rest = type.substr(kJson.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ';
}

common::HopResult process_store(std::string_view content_type, std::string_view body, common::Naming naming,
                                common::Timestamp now) {
  if (!content_type.empty() && !is_json_media_type(content_type)) {
    return common::refuse(common::HopOutcome::kUnsupportedMediaType, "Content-Type must be application/json");
  }
  return common::run_hop(common::Hop::kEnd, body, naming, now, {.check = unstorable_stamp});
}

}  // namespace ringtrace::ms1
