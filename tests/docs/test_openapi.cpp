/// @file
/// Keeps docs/openapi.yaml in step with the code: the routes come from MS1's own table, the field
/// names from the message codec and the server from the configuration defaults, so a route or a
/// key added to the code without its documentation (or the reverse) fails here.

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/ms1/reports/clock_correction.hpp"
#include "ringtrace/ms1/reports/report_json.hpp"
#include "ringtrace/ms1/service/router.hpp"

namespace {

using ringtrace::ms1::Route;
using Operation = std::pair<std::string, std::string>;  // method (upper case), path

/// The operation keys of an OpenAPI path item (the rest are summary, parameters, ...).
const std::vector<std::string> kHttpMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

/// Methods tried against each path to find the ones MS1 answers with 405.
const std::vector<std::string> kProbeMethods = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

/// Parsed once: every test reads the same document.
const YAML::Node& spec() {
  static const YAML::Node root = YAML::LoadFile(RINGTRACE_OPENAPI_PATH);
  return root;
}

/// A node that is not there (yaml-cpp's default Node() would count as a defined null).
YAML::Node missing() { return YAML::Node(YAML::NodeType::Undefined); }

/// `node[key]`, or missing() when `node` is not a map holding `key`. Goes through the const
/// operator[] only: the non-const one inserts keys, and assigning a bound Node rewrites the tree.
YAML::Node child(const YAML::Node& node, const std::string& key) {
  if (!node || !node.IsMap()) return missing();
  const YAML::Node value = node[key];
  return value ? value : missing();
}

/// Follows local `$ref`s ("#/components/..."); any other node comes back as it is.
YAML::Node resolve(const YAML::Node& node) {
  YAML::Node current = node;
  for (int depth = 0; depth < 16 && current && current.IsMap() && child(current, "$ref"); ++depth) {
    const auto ref = child(current, "$ref").as<std::string>();
    if (ref.rfind("#/", 0) != 0) throw std::runtime_error("only local $refs are followed: " + ref);
    YAML::Node target = spec();
    for (std::size_t start = 2; start <= ref.size();) {
      const auto end = std::min(ref.find('/', start), ref.size());
      std::string token = ref.substr(start, end - start);
      // JSON pointer escapes, decoded in this order: ~1 is '/', ~0 is '~'.
      for (std::size_t at; (at = token.find("~1")) != std::string::npos;) token.replace(at, 2, "/");
      for (std::size_t at; (at = token.find("~0")) != std::string::npos;) token.replace(at, 2, "~");
      target.reset(child(target, token));
      if (!target) throw std::runtime_error("dangling $ref " + ref);
      start = end + 1;
    }
    current.reset(target);
  }
  return current;
}

/// Walks `keys` down from `node`, following `$ref`s on the way; missing() if a step is absent.
YAML::Node at(const YAML::Node& node, std::initializer_list<std::string> keys) {
  YAML::Node current = resolve(node);
  for (const auto& key : keys) current.reset(resolve(child(current, key)));
  return current;
}

std::set<Operation> served() {
  std::set<Operation> out;
  for (const auto& entry : ringtrace::ms1::routes()) out.emplace(std::string(entry.method), std::string(entry.path));
  return out;
}

std::set<Operation> documented() {
  std::set<Operation> out;
  for (const auto& item : at(spec(), {"paths"})) {
    for (const auto& method : kHttpMethods) {
      if (child(item.second, method)) out.emplace(upper(method), item.first.as<std::string>());
    }
  }
  return out;
}

/// The operation for `method` on `path`; missing() if the document has none.
YAML::Node operation(const std::string& method, const std::string& path) {
  return at(spec(), {"paths", path, lower(method)});
}

std::string describe(const std::set<Operation>& operations) {
  std::string out;
  for (const auto& [method, path] : operations) out += "\n  " + method + " " + path;
  return out;
}

TEST(openapi, IsAnOpenApi3DocumentWithPaths) {
  const auto version = at(spec(), {"openapi"});
  ASSERT_TRUE(version) << RINGTRACE_OPENAPI_PATH;
  EXPECT_EQ(version.as<std::string>().substr(0, 2), "3.");
  ASSERT_TRUE(at(spec(), {"paths"}).IsMap());
  EXPECT_GT(ringtrace::ms1::routes().size(), 0u);
}

TEST(openapi, EveryServedRouteIsDocumented) {
  std::set<Operation> undocumented;
  const auto ops = documented();
  for (const auto& op : served()) {
    if (!ops.count(op)) undocumented.insert(op);
  }
  EXPECT_TRUE(undocumented.empty()) << "served by MS1 (ms1/router.cpp) but not in docs/openapi.yaml:"
                                    << describe(undocumented);
}

TEST(openapi, EveryDocumentedOperationIsServed) {
  std::set<Operation> extra;
  const auto routes = served();
  for (const auto& op : documented()) {
    if (!routes.count(op)) extra.insert(op);
  }
  EXPECT_TRUE(extra.empty()) << "in docs/openapi.yaml but not served by MS1 (ms1/router.cpp):" << describe(extra);
}

TEST(openapi, EveryOperationHasAnIdAndASuccessAnswer) {
  std::set<std::string> ids;
  for (const auto& [method, path] : documented()) {
    SCOPED_TRACE(method + " " + path);
    const auto op = operation(method, path);
    const auto id = at(op, {"operationId"});
    ASSERT_TRUE(id);
    EXPECT_TRUE(ids.insert(id.as<std::string>()).second) << "operationId used twice";
    const auto responses = at(op, {"responses"});
    ASSERT_TRUE(responses && responses.IsMap());
    bool success = false;
    for (const auto& response : responses) {
      const auto code = response.first.as<std::string>();
      if (code.size() == 3 && code[0] == '2') success = true;
      EXPECT_TRUE(at(response.second, {"description"})) << code << " has no description";
    }
    EXPECT_TRUE(success) << "no 2xx answer documented";
  }
}

TEST(openapi, MethodNotAllowedIsDocumentedWithTheAllowHeader) {
  for (const auto& entry : ringtrace::ms1::routes()) {
    const std::string method(entry.method);
    const std::string path(entry.path);
    SCOPED_TRACE(method + " " + path);
    const bool answers_405 = std::any_of(kProbeMethods.begin(), kProbeMethods.end(), [&](const std::string& probe) {
      return ringtrace::ms1::route(probe, path) == Route::kMethodNotAllowed;
    });
    if (!answers_405) continue;
    const auto op = operation(method, path);
    ASSERT_TRUE(op) << "undocumented route";
    ASSERT_TRUE(at(op, {"responses", "405"})) << "MS1 answers 405 here, but the operation does not document it";
    ASSERT_TRUE(at(op, {"responses", "405", "headers", "Allow"})) << "405 without its Allow header";
    // When the document pins the header's value, it must be the one MS1 sends.
    const std::string expected(ringtrace::ms1::allowed_method(path));
    if (const auto value = at(op, {"responses", "405", "headers", "Allow", "schema", "const"})) {
      EXPECT_EQ(value.as<std::string>(), expected);
    }
    if (const auto values = at(op, {"responses", "405", "headers", "Allow", "schema", "enum"})) {
      ASSERT_TRUE(values.IsSequence());
      ASSERT_EQ(values.size(), 1u);
      EXPECT_EQ(values[0].as<std::string>(), expected);
    }
  }
}

TEST(openapi, StoreDocumentsItsJsonBodyAndTheTraceparentHeader) {
  int checked = 0;
  for (const auto& entry : ringtrace::ms1::routes()) {
    if (entry.route != Route::kStore) continue;
    ++checked;
    SCOPED_TRACE(std::string(entry.method) + " " + std::string(entry.path));
    const auto op = operation(std::string(entry.method), std::string(entry.path));
    ASSERT_TRUE(op);
    EXPECT_TRUE(at(op, {"requestBody", "content", "application/json", "schema"}));
    bool traceparent = false;
    for (const auto& parameter : at(op, {"parameters"})) {
      const auto in = at(parameter, {"in"});
      const auto name = at(parameter, {"name"});
      if (in && name && in.as<std::string>() == "header" && lower(name.as<std::string>()) == "traceparent") {
        traceparent = true;
      }
    }
    EXPECT_TRUE(traceparent) << "no traceparent header parameter";
  }
  EXPECT_EQ(checked, 1) << "MS1 should have exactly one store route";
}

/// Collects every key of every `properties` map below `node`.
void property_names(const YAML::Node& node, std::set<std::string>& out) {
  if (node.IsMap()) {
    for (const auto& item : node) {
      if (item.first.as<std::string>() == "properties" && item.second.IsMap()) {
        for (const auto& property : item.second) out.insert(property.first.as<std::string>());
      }
      property_names(item.second, out);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) property_names(item, out);
  }
}

TEST(openapi, SchemasNameTheTimestampsOfBothNamings) {
  std::set<std::string> names;
  const auto schemas = at(spec(), {"components", "schemas"});
  ASSERT_TRUE(schemas);
  property_names(schemas, names);
  using ringtrace::common::Hop;
  using ringtrace::common::Naming;
  for (const auto naming : {Naming::kService, Naming::kMc}) {
    for (const auto hop : {Hop::kMs1, Hop::kMs2, Hop::kMs3, Hop::kEnd}) {
      const std::string field(ringtrace::common::field_name(naming, hop));
      EXPECT_TRUE(names.count(field)) << field << " (message.naming " << ringtrace::common::to_string(naming)
                                      << ") is in no schema";
    }
  }
  EXPECT_TRUE(names.count("id"));
  EXPECT_TRUE(names.count("session_id"));
}

/// Whether `schema` (a resolved schema without oneOf) is of the JSON kind `value` is.
bool fits(const boost::json::value& value, const YAML::Node& schema) {
  const auto type = child(schema, "type") ? child(schema, "type").as<std::string>() : std::string();
  if (value.is_null()) return type == "null";
  if (value.is_object()) return type == "object";
  if (value.is_array()) return type == "array";
  if (value.is_bool()) return type == "boolean";
  if (value.is_string()) return type == "string";
  if (type == "integer") return value.is_int64() || value.is_uint64();
  return type == "number";
}

/// Checks a rendered `value` against `node` the way a client reads it: every required key there,
/// no key the schema does not name, each value of its type and within its enum, recursively.
void expect_shape(const boost::json::value& value, const YAML::Node& node, const std::string& where) {
  const auto schema = resolve(node);
  if (const auto branches = child(schema, "oneOf")) {
    for (const auto& branch : branches) {
      if (fits(value, resolve(branch))) return expect_shape(value, branch, where);
    }
    ADD_FAILURE() << where << ": " << boost::json::serialize(value) << " fits no branch";
    return;
  }
  ASSERT_TRUE(fits(value, schema)) << where << ": " << boost::json::serialize(value);
  if (const auto allowed = child(schema, "enum"); allowed && value.is_string()) {
    bool listed = false;
    for (const auto& item : allowed) listed = listed || item.as<std::string>() == value.as_string().c_str();
    EXPECT_TRUE(listed) << where << ": " << value.as_string() << " is not in the enum";
  }
  if (value.is_array()) {
    for (std::size_t i = 0; i < value.as_array().size(); ++i) {
      expect_shape(value.as_array()[i], child(schema, "items"), where + "[" + std::to_string(i) + "]");
    }
  }
  if (!value.is_object()) return;
  const auto& object = value.as_object();
  for (const auto& key : child(schema, "required")) {
    EXPECT_TRUE(object.contains(key.as<std::string>())) << where << " lacks " << key.as<std::string>();
  }
  for (const auto& [key, item] : object) {
    const auto property = child(child(schema, "properties"), std::string(key));
    if (!property) {
      ADD_FAILURE() << where << " has " << key << ", which the schema does not name";
      continue;
    }
    expect_shape(item, property, where + "." + std::string(key));
  }
}

/// A report with every part filled: three legs with rows, a cycle without; with `clocks`, MS2's
/// and MS3's offsets and the legs corrected by them.
ringtrace::ms1::SessionReport sample_report(bool clocks) {
  using namespace ringtrace::ms1;
  SessionReport r;
  r.session.session_id = 7;
  r.session.started_at = *ringtrace::common::parse_timestamp("2026-12-03T18:00:00.123456Z");
  r.session.naming = "mc";
  for (std::size_t i = 0; i < 3; ++i) r.legs[i] = {99, 1, 2, 3, 4, 5, {{0, 1}, {1, 98}}};
  r.throughput = {{0, 99}};
  r.slowest = {SlowMessage{12, {1000, 2000, 3001, 6001}, "0123456789abcdef0123456789abcdef", {}}};
  if (!clocks) return r;
  ClockRecord ms2;
  ms2.clock = ringtrace::common::Hop::kMs2;
  ms2.offset_us = 80012;
  ms2.uncertainty_us = 71;
  ms2.samples = 812;
  ms2.measured_at = r.session.started_at;
  ClockRecord ms3 = ms2;
  ms3.clock = ringtrace::common::Hop::kMs3;
  ms3.offset_us = -49987;
  r.clocks = {ms2, ms3};
  const auto shifts = leg_shifts(r.clocks);
  for (std::size_t leg = 0; leg < kLegCount; ++leg) {
    r.corrected[leg] = corrected_from_stats(r.legs[leg], *shifts[leg], r.legs[leg].buckets);
    r.slowest[0].corrected_us[leg] = corrected_value(r.slowest[0].legs_us[leg], shifts[leg]);
  }
  r.slowest[0].corrected_us[0].reset();
  return r;
}

TEST(openapi, TheSessionReportIsRenderedAsDocumented) {
  const auto schema = at(spec(), {"components", "schemas", "SessionReport"});
  ASSERT_TRUE(schema);
  for (const bool clocks : {false, true}) {
    const auto body = ringtrace::ms1::report_json(sample_report(clocks));
    expect_shape(boost::json::parse(body), schema, clocks ? "report with clocks" : "report without clocks");
  }
}

TEST(openapi, ServerIsMs1sDefaultAddress) {
  const ringtrace::common::Config defaults;
  const auto expected = "http://" + defaults.ms1.listen_address + ":" + std::to_string(defaults.ms1.port);
  const auto servers = at(spec(), {"servers"});
  ASSERT_TRUE(servers && servers.IsSequence() && servers.size() > 0);
  const auto url = at(servers[0], {"url"});
  ASSERT_TRUE(url);
  EXPECT_EQ(url.as<std::string>(), expected);
}

}  // namespace
