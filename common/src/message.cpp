#include "ringtrace/common/message.hpp"

#include <charconv>
#include <cmath>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace ringtrace::common {

namespace {

constexpr std::array<std::array<std::string_view, kHopCount>, 2> kFieldNames{{
    {"service1_timestamp", "service2_timestamp", "service3_timestamp", "end_timestamp"},
    {"MC1_timestamp", "MC2_timestamp", "MC3_timestamp", "end_timestamp"},
}};

void append_int(std::string& out, std::int64_t value) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

/// True when `x` is an integer written as a JSON number with a fraction or an exponent (3.0, 2e0).
/// Boost.JSON 1.81 does not round every decimal correctly: a large integral literal such as
/// 2236514255103855.0 may come back a few units in the last place off, so the nearest integer
/// within 4 ulps counts. Only values near 2^50 and beyond have ulps that wide.
bool is_integral(double x) {
  const double nearest = std::round(x);
  const double ulp = std::nextafter(std::fabs(x), INFINITY) - std::fabs(x);
  return std::fabs(x - nearest) <= 4 * ulp;
}

/// Reads a positive integer member; reason filled on failure.
bool read_positive_id(const boost::json::value& v, std::string_view key, std::int64_t& out, std::string& reason) {
  // JSON has one number type: 3.0 is the integer 3 (as JSON Schema counts it), while 3.5 is not
  // an id. Beyond 2^53 a double no longer names one integer.
  constexpr double kExactLimit = 9007199254740992.0;
  if (v.is_int64()) {
    out = v.get_int64();
  } else if (v.is_uint64()) {
    reason = std::string(key) + " is out of range";
    return false;
  } else if (v.is_double() && is_integral(v.get_double())) {
    if (std::fabs(v.get_double()) > kExactLimit) {
      reason = std::string(key) + " is out of range";
      return false;
    }
    out = static_cast<std::int64_t>(std::round(v.get_double()));
  } else {
    reason = std::string(key) + " must be an integer";
    return false;
  }
  if (out < 1) {
    reason = std::string(key) + " must be >= 1";
    return false;
  }
  return true;
}

/// Index of the timestamp field `key` under `naming`, or -1.
int hop_of(Naming naming, std::string_view key) {
  const auto& names = kFieldNames[static_cast<std::size_t>(naming)];
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == key) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

std::string_view field_name(Naming naming, Hop hop) {
  return kFieldNames[static_cast<std::size_t>(naming)][static_cast<std::size_t>(hop)];
}

std::optional<Naming> parse_naming(std::string_view text) {
  if (text == "service") return Naming::kService;
  if (text == "mc") return Naming::kMc;
  return std::nullopt;
}

std::string_view to_string(Naming naming) { return naming == Naming::kService ? "service" : "mc"; }

std::string encode(const Message& message, Naming naming, std::string_view traceparent) {
  std::string out;
  out.reserve(192);
  out += "{\"id\":";
  append_int(out, message.id);
  out += ",\"session_id\":";
  append_int(out, message.session_id);
  for (std::size_t i = 0; i < kHopCount; ++i) {
    out += ",\"";
    out += field_name(naming, static_cast<Hop>(i));
    out += "\":";
    if (const auto& ts = message.stamps[i]) {
      out += '"';
      append_timestamp(out, *ts);
      out += '"';
    } else {
      out += "null";
    }
  }
  if (!traceparent.empty()) {
    // A traceparent is hex and dashes only (the tracer makes it), so it needs no escaping.
    out += ",\"traceparent\":\"";
    out += traceparent;
    out += '"';
  }
  out += '}';
  return out;
}

DecodeResult decode(std::string_view json, Naming naming, std::string* traceparent) {
  DecodeResult result;
  boost::system::error_code ec;
  unsigned char buffer[4096];
  boost::json::monotonic_resource resource(buffer, sizeof buffer);
  const boost::json::value root = boost::json::parse(json, ec, &resource);
  if (ec) {
    result.error = "malformed JSON: " + ec.message();
    return result;
  }
  const auto* object = root.if_object();
  if (object == nullptr) {
    result.error = "message must be a JSON object";
    return result;
  }
  Message message;
  bool have_id = false;
  bool have_session = false;
  for (const auto& member : *object) {
    const std::string_view key = member.key();
    if (key == "id") {
      if (!read_positive_id(member.value(), key, message.id, result.error)) return result;
      have_id = true;
    } else if (key == "session_id") {
      if (!read_positive_id(member.value(), key, message.session_id, result.error)) return result;
      have_session = true;
    } else if (const int hop = hop_of(naming, key); hop >= 0) {
      const auto& value = member.value();
      if (value.is_null()) continue;
      const auto* text = value.if_string();
      if (text == nullptr) {
        result.error = std::string(key) + " must be a string or null";
        return result;
      }
      auto ts = parse_timestamp(*text);
      if (!ts) {
        result.error = std::string(key) + " must look like 2026-11-21T10:15:30.123456Z";
        return result;
      }
      message.stamps[static_cast<std::size_t>(hop)] = *ts;
    } else if (key == "traceparent" && traceparent != nullptr) {
      const auto* text = member.value().if_string();
      if (text == nullptr) {
        result.error = "traceparent must be a string";
        return result;
      }
      traceparent->assign(text->data(), text->size());
    } else {
      const Naming other = naming == Naming::kService ? Naming::kMc : Naming::kService;
      result.error = "unknown field '" + std::string(key) + "'";
      if (hop_of(other, key) >= 0) {
        result.error += " (message.naming is '" + std::string(to_string(naming)) + "', expected '" +
                        std::string(field_name(naming, static_cast<Hop>(hop_of(other, key)))) + "')";
      }
      return result;
    }
  }
  if (!have_id) {
    result.error = "missing field 'id'";
    return result;
  }
  if (!have_session) {
    result.error = "missing field 'session_id'";
    return result;
  }
  result.message = message;
  return result;
}

std::string_view to_string(StampResult result) {
  switch (result) {
    case StampResult::kOk: return "ok";
    case StampResult::kMissingPrevious: return "the previous hop's timestamp is missing";
    case StampResult::kAlreadyStamped: return "this or a later hop's timestamp is already set";
  }
  return "unknown";
}

StampResult stamp(Message& message, Hop hop, Timestamp now) {
  const auto index = static_cast<std::size_t>(hop);
  for (std::size_t i = index; i < kHopCount; ++i) {
    if (message.stamps[i]) return StampResult::kAlreadyStamped;
  }
  for (std::size_t i = 0; i < index; ++i) {
    if (!message.stamps[i]) return StampResult::kMissingPrevious;
  }
  message.stamps[index] = now;
  return StampResult::kOk;
}

}  // namespace ringtrace::common
