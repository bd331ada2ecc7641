// Spans reach the real Jaeger (scripts/infra.sh up: OTLP/HTTP on 127.0.0.1:4318, query API on
// 127.0.0.1:16686) with their parent links intact. Jaeger batches before it stores, so the test
// polls the query API with a deadline.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "ringtrace/common/tracing.hpp"

using namespace ringtrace::common;
namespace http = boost::beast::http;

namespace {

/// GET http://127.0.0.1:16686<target>; "" when Jaeger does not answer.
std::string jaeger_get(const std::string& target) {
  try {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    boost::asio::ip::tcp::resolver resolver(ioc);
    boost::asio::connect(socket, resolver.resolve("127.0.0.1", "16686"));
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, "127.0.0.1");
    http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response.result_int() == 200 ? response.body() : std::string();
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace

TEST(Jaeger, SpansArriveWithTheirParentLinks) {
  const std::string service = "ringtrace-it-" + std::to_string(::getpid());
  TracingConfig config;
  config.flush_interval_ms = 50;
  std::string trace_id;
  std::string root_id;
  {
    tracing::Tracer tracer(config, service);
    auto root = tracer.start_span("root", tracing::SpanKind::kProducer);
    root.set_attribute("session_id", std::int64_t{7});
    auto child = tracer.start_span("child", tracing::SpanKind::kConsumer, root.context());
    trace_id = tracing::to_hex(root.context().trace_id.data(), 16);
    root_id = tracing::to_hex(root.context().span_id.data(), 8);
    child.end();
    root.end();
    tracer.flush();
    EXPECT_EQ(tracer.stats().exported, 2u) << "the collector did not accept the spans (is Jaeger up?)";
  }

  boost::json::value trace;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto body = jaeger_get("/api/traces/" + trace_id);
    boost::system::error_code ec;
    auto parsed = boost::json::parse(body, ec);
    if (!ec && parsed.is_object() && parsed.as_object().contains("data") && !parsed.at("data").as_array().empty() &&
        parsed.at("data").at(0).at("spans").as_array().size() == 2) {
      trace = parsed.at("data").at(0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(trace.is_object()) << "trace " << trace_id << " never showed up in Jaeger";
  int roots = 0;
  for (const auto& span : trace.at("spans").as_array()) {
    const auto& refs = span.at("references").as_array();
    if (span.at("operationName").as_string() == "child") {
      ASSERT_EQ(refs.size(), 1u);
      EXPECT_EQ(refs[0].at("refType").as_string(), "CHILD_OF");
      EXPECT_EQ(refs[0].at("spanID").as_string(), root_id);
    } else {
      EXPECT_TRUE(refs.empty());
      ++roots;
    }
  }
  EXPECT_EQ(roots, 1);
  const auto services = jaeger_get("/api/services");
  EXPECT_NE(services.find(service), std::string::npos) << services;
}
