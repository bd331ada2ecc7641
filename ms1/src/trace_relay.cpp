#include "ringtrace/ms1/trace_relay.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/http_target.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
using common::path_tail;
using common::read_int_params;
namespace json = boost::json;
using common::error_json;

namespace {

constexpr std::chrono::milliseconds kQueryTimeout{5000};
constexpr std::uint64_t kMaxTraceBytes = 4 * 1024 * 1024;  ///< a message's trace is a few kB
constexpr std::size_t kQueueMax = 8;

/// The value of an object member, or nullptr (never throws).
const json::value* member(const json::value& v, std::string_view key) {
  const auto* object = v.if_object();
  return object == nullptr ? nullptr : object->if_contains(key);
}

/// A string member, or "".
std::string_view string_member(const json::value& v, std::string_view key) {
  const auto* m = member(v, key);
  return m != nullptr && m->is_string() ? std::string_view(m->get_string()) : std::string_view{};
}

/// One span in the relay's shape, with its start for sorting.
struct Span {
  std::int64_t start = 0;
  json::object json;
};

std::optional<Span> translate_span(const json::value& s, const json::value* processes, std::string& error) {
  const auto span_id = string_member(s, "spanID");
  const auto* start = member(s, "startTime");
  const auto* duration = member(s, "duration");
  if (span_id.empty() || start == nullptr || !start->is_number() || duration == nullptr || !duration->is_number()) {
    error = "a span without spanID, startTime or duration";
    return std::nullopt;
  }
  Span out;
  out.start = start->to_number<std::int64_t>();
  json::value parent = nullptr;
  if (const auto* refs = member(s, "references"); refs != nullptr && refs->is_array()) {
    for (const auto& ref : refs->get_array()) {
      if (string_member(ref, "refType") == "CHILD_OF" && !string_member(ref, "spanID").empty()) {
        parent = string_member(ref, "spanID");
        break;
      }
    }
  }
  json::value service = nullptr;
  if (const auto pid = string_member(s, "processID"); processes != nullptr && !pid.empty()) {
    if (const auto* process = member(*processes, pid)) {
      if (const auto name = string_member(*process, "serviceName"); !name.empty()) service = name;
    }
  }
  json::value kind = nullptr;
  std::string status = "unset";
  json::object attributes;
  if (const auto* tags = member(s, "tags"); tags != nullptr && tags->is_array()) {
    for (const auto& tag : tags->get_array()) {
      const auto key = string_member(tag, "key");
      const auto* value = member(tag, "value");
      if (key.empty() || value == nullptr) continue;
      if (key == "span.kind") {
        if (value->is_string()) kind = value->get_string();
      } else if (key == "otel.status_code") {
        if (value->is_string()) {
          if (value->get_string() == "ERROR") status = "error";
          else if (value->get_string() == "OK" && status != "error") status = "ok";
        }
      } else {
        if (key == "error" && ((value->is_bool() && value->get_bool()) || (value->is_string() && value->get_string() == "true"))) {
          status = "error";
        }
        attributes[key] = *value;
      }
    }
  }
  out.json = {{"span_id", span_id},
              {"parent_span_id", parent},
              {"service", service},
              {"name", string_member(s, "operationName")},
              {"kind", kind},
              {"start_unix_us", out.start},
              {"duration_us", duration->to_number<std::int64_t>()},
              {"status", status},
              {"attributes", std::move(attributes)}};
  return out;
}

}  // namespace

bool is_trace_id(std::string_view text) {
  return text.size() == 32 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TranslatedTrace translate_jaeger_trace(std::string_view jaeger_body, std::string_view trace_id,
                                       std::string_view ui_url) {
  boost::system::error_code ec;
  const auto root = json::parse(jaeger_body, ec);
  if (ec) return {JaegerAnswer::kMalformed, {}, "not JSON: " + ec.message()};
  const auto* data = member(root, "data");
  if (data == nullptr || !(data->is_array() || data->is_null())) return {JaegerAnswer::kMalformed, {}, "no data array"};
  if (data->is_null() || data->get_array().empty()) return {JaegerAnswer::kNotFound, {}, {}};
  const auto& trace = data->get_array().front();
  const auto* spans = member(trace, "spans");
  if (spans == nullptr || !spans->is_array()) return {JaegerAnswer::kMalformed, {}, "data[0] has no spans array"};
  if (spans->get_array().empty()) return {JaegerAnswer::kNotFound, {}, {}};
  const auto* processes = member(trace, "processes");
  std::vector<Span> out;
  std::string error;
  for (const auto& s : spans->get_array()) {
    auto span = translate_span(s, processes, error);
    if (!span) return {JaegerAnswer::kMalformed, {}, error};
    out.push_back(std::move(*span));
  }
  std::stable_sort(out.begin(), out.end(), [](const Span& a, const Span& b) { return a.start < b.start; });
  json::array array;
  array.reserve(out.size());
  for (auto& span : out) array.emplace_back(std::move(span.json));
  std::string_view ui = ui_url;
  while (!ui.empty() && ui.back() == '/') ui.remove_suffix(1);
  json::object body{{"trace_id", trace_id},
                    {"jaeger_ui", ui.empty() ? json::value(nullptr) : json::value(fmt::format("{}/trace/{}", ui, trace_id))},
                    {"spans", std::move(array)}};
  return {JaegerAnswer::kTrace, json::serialize(body), {}};
}

TraceRelay::TraceRelay(const common::TracingConfig& config, boost::asio::any_io_executor completions)
    : query_url_(config.query_url), ui_url_(config.ui_url), completions_(std::move(completions)), worker_(kQueueMax) {
  if (query_url_.empty()) return;
  auto endpoint = common::parse_endpoint(query_url_, "http", "tracing.query_url");
  base_path_ = endpoint.target;
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  common::HttpClientOptions options;
  options.timeout = kQueryTimeout;
  options.user_agent = "ringtrace-ms1";
  options.log_name = "jaeger query";
  options.max_response_bytes = kMaxTraceBytes;
  client_ = std::make_unique<common::HttpClient>(std::move(endpoint), options, abort_);
}

TraceRelay::~TraceRelay() { stop(); }

void TraceRelay::stop() {
  abort_.store(true);
  worker_.stop();
}

void TraceRelay::handle(common::HttpRequest&& request, common::Responder respond) {
  const auto id = path_tail(request.target(), "/traces/").value_or("");
  if (!is_trace_id(id)) {
    return respond(error_json(http::status::bad_request,
                              fmt::format("trace id: expected 32 lowercase hex digits, got '{}'", id)));
  }
  if (auto error = read_int_params(request.target(), {})) return respond(error_json(http::status::bad_request, *error));
  if (!client_) {
    return respond(error_json(http::status::service_unavailable, "tracing.query_url is empty: no Jaeger to ask"));
  }
  auto shared = std::make_shared<common::Responder>(std::move(respond));
  const bool queued = worker_.post([this, trace_id = std::string(id), shared] {
    auto response = relay(trace_id);
    boost::asio::post(completions_, [shared, response = std::move(response)]() mutable { (*shared)(std::move(response)); });
  });
  if (!queued) {
    auto response = error_json(http::status::service_unavailable, "too many trace queries are waiting; retry");
    response.set(http::field::retry_after, "1");
    (*shared)(std::move(response));
  }
}

common::HttpResponse TraceRelay::relay(const std::string& trace_id) {
  const auto result = client_->get(base_path_ + "/api/traces/" + trace_id);
  if (result.ec) {
    spdlog::warn("jaeger query: {} not reachable: {}", query_url_, result.ec.message());
    return error_json(http::status::bad_gateway,
                      fmt::format("Jaeger is not reachable at {}: {}", query_url_, result.ec.message()));
  }
  const auto not_found = [&] {
    return error_json(http::status::not_found, fmt::format("trace {} not found in Jaeger", trace_id));
  };
  if (result.status == 404) return not_found();
  if (result.status != 200) {
    return error_json(http::status::bad_gateway, fmt::format("Jaeger at {} answered {}", query_url_, result.status));
  }
  auto translated = translate_jaeger_trace(result.body, trace_id, ui_url_);
  switch (translated.answer) {
    case JaegerAnswer::kTrace: return common::json_response(http::status::ok, std::move(translated.json));
    case JaegerAnswer::kNotFound: return not_found();
    case JaegerAnswer::kMalformed: break;
  }
  return error_json(http::status::bad_gateway, "Jaeger's answer is not a trace: " + translated.error);
}

}  // namespace ringtrace::ms1
