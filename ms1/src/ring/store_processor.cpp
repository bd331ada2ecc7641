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

StoreRequest process_store(std::string_view content_type, std::string_view body, common::Naming naming,
                           common::Timestamp now) {
  StoreRequest out;
  if (!content_type.empty() && !is_json_media_type(content_type)) {
    out.outcome = StoreRequestOutcome::kUnsupportedMediaType;
    out.reason = "Content-Type must be application/json";
    return out;
  }
  auto decoded = common::decode(body, naming);
  if (!decoded) {
    out.outcome = StoreRequestOutcome::kMalformed;
    out.reason = decoded.error;
    return out;
  }
  out.message = *decoded.message;
  if (auto why = unstorable_stamp(out.message, naming); !why.empty()) {
    out.outcome = StoreRequestOutcome::kUnstorable;
    out.reason = std::move(why);
    return out;
  }
  if (const auto result = common::stamp(out.message, common::Hop::kEnd, now); result != common::StampResult::kOk) {
    out.outcome = StoreRequestOutcome::kBadStamps;
    out.reason = std::string(to_string(result));
  }
  return out;
}

}  // namespace ringtrace::ms1
