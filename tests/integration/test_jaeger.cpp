// Spans reach the real Jaeger (scripts/infra.sh up: OTLP/HTTP on 127.0.0.1:4318, query API on
// 127.0.0.1:16686; RINGTRACE__TRACING__ENDPOINT names another OTLP endpoint, whose host then
// serves the query API on 16686) with their parent links, kinds, attributes of every type and
// status intact, in both encodings the exporter speaks. Jaeger batches before it stores, so the
// test polls the query API with a deadline.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "ringtrace/common/endpoint.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/test/backends.hpp"
#include "ringtrace/test/wait.hpp"

using namespace ringtrace::common;
namespace http = boost::beast::http;

namespace {

/// GET <Jaeger query API><target>; "" when Jaeger does not answer.
std::string jaeger_get(const std::string& target) {
  try {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    boost::asio::ip::tcp::resolver resolver(ioc);
    const auto query = parse_endpoint(ringtrace::test::jaeger_query_url(), "http", "Jaeger query API");
    const auto& host = query.host;
    boost::asio::connect(socket, resolver.resolve(host, query.port));
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, host);
    http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response.result_int() == 200 ? response.body() : std::string();
  } catch (const std::exception&) {
    return {};
  }
}

/// The tag `key` of a span in Jaeger's API answer; type and value null when absent, so a missing
/// tag fails an expectation instead of throwing.
boost::json::value tag(const boost::json::value& span, const std::string& key) {
  for (const auto& t : span.at("tags").as_array()) {
    if (t.at("key").as_string() == key) return t;
  }
  return boost::json::object{{"key", key}, {"type", nullptr}, {"value", nullptr}};
}

/// Sends a root and a child span with `protocol` and checks what Jaeger stored.
void check_spans_arrive(TracingProtocol protocol) {
  const std::string service = "ringtrace-it-" + std::to_string(::getpid()) +
                              (protocol == TracingProtocol::kHttpJson ? "-json" : "-protobuf");
  TracingConfig config;
  config.endpoint = ringtrace::test::otlp_traces_url();
  config.flush_interval_ms = 50;
  config.protocol = protocol;
  std::string trace_id;
  std::string root_id;
  {
    tracing::Tracer tracer(config, service);
    auto root = tracer.start_span("root", tracing::SpanKind::kProducer);
    root.set_attribute("session_id", std::int64_t{7});
    root.set_attribute("offset", std::int64_t{-9'007'199'254'740'993});  // beyond a double's precision
    root.set_attribute("messaging.system", std::string("kafka"));
    root.set_attribute("ok", true);
    root.set_attribute("ratio", 0.5);
    root.set_status(tracing::StatusCode::kError, "boom");
    auto child = tracer.start_span("child", tracing::SpanKind::kConsumer, root.context());
    trace_id = tracing::to_hex(root.context().trace_id.data(), 16);
    root_id = tracing::to_hex(root.context().span_id.data(), 8);
    child.end();
    root.end();
    tracer.flush();
    EXPECT_EQ(tracer.stats().exported, 2u) << "the collector did not accept the spans (is Jaeger up?)";
  }

  boost::json::value trace;
  ringtrace::test::eventually(
      [&] {
        const auto body = jaeger_get("/api/traces/" + trace_id);
        boost::system::error_code ec;
        auto parsed = boost::json::parse(body, ec);
        if (ec || !parsed.is_object() || !parsed.as_object().contains("data") || parsed.at("data").as_array().empty() ||
            parsed.at("data").at(0).at("spans").as_array().size() != 2) {
          return false;
        }
        trace = parsed.at("data").at(0);
        return true;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200));
  ASSERT_TRUE(trace.is_object()) << "trace " << trace_id << " never showed up in Jaeger";
  int roots = 0;
  for (const auto& span : trace.at("spans").as_array()) {
    const auto& refs = span.at("references").as_array();
    const std::string process = span.at("processID").as_string().c_str();
    EXPECT_EQ(trace.at("processes").at(process).at("serviceName").as_string(), service);
    if (span.at("operationName").as_string() == "child") {
      ASSERT_EQ(refs.size(), 1u);
      EXPECT_EQ(refs[0].at("refType").as_string(), "CHILD_OF");
      EXPECT_EQ(refs[0].at("spanID").as_string(), root_id);
      EXPECT_EQ(tag(span, "span.kind").at("value"), "consumer");
    } else {
      EXPECT_TRUE(refs.empty());
      EXPECT_EQ(span.at("spanID").as_string(), root_id);
      EXPECT_EQ(span.at("operationName").as_string(), "root");
      ++roots;
      const auto dump = boost::json::serialize(span.at("tags"));
      EXPECT_EQ(tag(span, "span.kind").at("value"), "producer") << dump;
      EXPECT_EQ(tag(span, "session_id").at("type"), "int64") << dump;
      EXPECT_EQ(tag(span, "session_id").at("value"), 7) << dump;
      // Jaeger's API writes integers beyond JavaScript's 2^53 as strings; the digits must be exact.
      EXPECT_EQ(tag(span, "offset").at("type"), "int64") << dump;
      EXPECT_EQ(tag(span, "offset").at("value"), "-9007199254740993") << dump;
      EXPECT_EQ(tag(span, "messaging.system").at("value"), "kafka") << dump;
      EXPECT_EQ(tag(span, "ok").at("type"), "bool") << dump;
      EXPECT_EQ(tag(span, "ok").at("value"), true) << dump;
      EXPECT_EQ(tag(span, "ratio").at("type"), "float64") << dump;
      EXPECT_EQ(tag(span, "ratio").at("value"), 0.5) << dump;
      EXPECT_EQ(tag(span, "otel.status_code").at("value"), "ERROR") << dump;
      EXPECT_EQ(tag(span, "otel.status_description").at("value"), "boom") << dump;
      EXPECT_EQ(tag(span, "error").at("value"), true) << dump;
    }
  }
  EXPECT_EQ(roots, 1);
  const auto services = jaeger_get("/api/services");
  EXPECT_NE(services.find(service), std::string::npos) << services;
}

}  // namespace

TEST(Jaeger, SpansArriveWithTheirParentLinks) { check_spans_arrive(TracingProtocol::kHttpProtobuf); }

TEST(Jaeger, SpansArriveOverJsonToo) { check_spans_arrive(TracingProtocol::kHttpJson); }
