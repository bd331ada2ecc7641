#include "tracing_fixtures.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "otlp_decoder.hpp"

namespace tracing_test {

using namespace ringtrace::common;
using namespace ringtrace::common::tracing;
namespace json = boost::json;

SpanData sample_span(bool root) {
  SpanData span;
  span.context = *parse_traceparent(kGood);
  if (!root) span.parent = parse_traceparent("00-" + kTrace + "-1111111111111111-01")->span_id;
  span.name = root ? "root \"quoted\"\n\\" : "kafka produce";
  span.kind = root ? SpanKind::kServer : SpanKind::kProducer;
  span.start_unix_ns = 1'700'000'000'123'456'789ULL;
  span.end_unix_ns = 1'700'000'000'223'456'789ULL;
  span.attributes = {{"messaging.system", std::string("kafka")},
                     {"messaging.kafka.offset", std::int64_t{-9'007'199'254'740'993}},
                     {"ok", true},
                     {"ratio", 0.5}};
  if (!root) span.status = StatusCode::kOk;
  if (root) {
    span.status = StatusCode::kError;
    span.status_message = "db \"down\"";
  }
  return span;
}

TracingConfig exporter_config(const std::string& url, int batch_max, int queue_max, int flush_interval_ms,
                              int timeout_ms, TracingProtocol protocol) {
  TracingConfig config;
  config.enabled = true;
  config.endpoint = url;
  config.protocol = protocol;
  config.batch_max = batch_max;
  config.queue_max = queue_max;
  config.flush_interval_ms = flush_interval_ms;
  config.timeout_ms = timeout_ms;
  return config;
}

Collector::Collector(Options options) : status_(options.status), server_(options.port) {
  server_.set_status(options.status);
  server_.close_connections(options.close_after_each);
  server_.drop_connections(options.close_silently);
}

Collector::~Collector() { release(); }

void Collector::hold() {
  {
    std::lock_guard lock(gate_->mutex);
    gate_->open = false;
  }
  server_.set_responder([gate = gate_, status = status_](const ringtrace::test::ReceivedRequest&) {
    std::unique_lock lock(gate->mutex);
    gate->opened.wait(lock, [&] { return gate->open; });
    return ringtrace::test::FakeResponse{status, {}, ringtrace::test::AfterAnswer::kKeepAlive};
  });
}

void Collector::release() {
  {
    std::lock_guard lock(gate_->mutex);
    gate_->open = true;
  }
  gate_->opened.notify_all();
}

std::size_t Collector::span_count() const {
  std::size_t n = 0;
  for (const auto& post : posts()) n += span_names(post).size();
  return n;
}

std::vector<std::string> Collector::span_names(const Post& post) {
  std::vector<std::string> names;
  if (post.content_type == "application/x-protobuf") {
    for (const auto& span : decode_request(post.body).spans) names.push_back(span.name);
  } else {
    const auto doc = json::parse(post.body);
    for (const auto& span : doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array()) {
      names.emplace_back(span.at("name").as_string());
    }
  }
  return names;
}

std::string Collector::service_of(const Post& post) {
  if (post.content_type == "application/x-protobuf") return service_name(decode_request(post.body));
  const auto doc = json::parse(post.body);
  const auto& resource = doc.at("resourceSpans").at(0).at("resource");
  return std::string(resource.at("attributes").at(0).at("value").at("stringValue").as_string());
}

LogCapture::LogCapture()
    : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)), previous_(spdlog::default_logger()) {
  auto logger = std::make_shared<spdlog::logger>("capture", sink_);
  logger->set_level(spdlog::level::debug);
  logger->set_pattern("%l %v");
  spdlog::set_default_logger(logger);
}

LogCapture::~LogCapture() { spdlog::set_default_logger(previous_); }

std::size_t LogCapture::count(const std::string& needle) const {
  const auto lines = sink_->last_formatted();
  return static_cast<std::size_t>(
      std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
}

}  // namespace tracing_test
