// The Jaeger relay: the translation of Jaeger's /api/traces/{id} answer (a fixture in the shape
// the native Jaeger answers with) and GET /traces/{id} against an HTTP server inside the test.
#include <gtest/gtest.h>

#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "ringtrace/common/http_listener.hpp"
#include "ringtrace/ms1/trace_relay.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms1 {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A message's trace as Jaeger's query API returns it (abridged to three spans: MS1's producer
/// root, MS2's server span under it, MS1's /store server span with an error), out of start order.
constexpr std::string_view kJaegerTrace = R"({"data":[{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spans":[
{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7","operationName":"receive",
 "references":[{"refType":"CHILD_OF","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"a3ce929d0e0e4736"}],
 "startTime":1796320800000300,"duration":120,"tags":[
  {"key":"span.kind","type":"string","value":"server"},{"key":"message.id","type":"int64","value":12},
  {"key":"otel.scope.name","type":"string","value":"ringtrace"}],"logs":[],"processID":"p2","warnings":null},
{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"a3ce929d0e0e4736","operationName":"send",
 "references":[],"startTime":1796320800000100,"duration":5230,"tags":[
  {"key":"span.kind","type":"string","value":"producer"},{"key":"messaging.system","type":"string","value":"websocket"},
  {"key":"session_id","type":"int64","value":7},{"key":"otel.status_code","type":"string","value":"OK"}],
 "logs":[],"processID":"p1","warnings":null},
{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"b7ad6b7169203331","operationName":"POST /store",
 "references":[{"refType":"FOLLOWS_FROM","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"1111111111111111"},
               {"refType":"CHILD_OF","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7"}],
 "startTime":1796320800005000,"duration":210,"tags":[
  {"key":"span.kind","type":"string","value":"server"},{"key":"http.response.status_code","type":"int64","value":503},
  {"key":"error","type":"bool","value":true},{"key":"otel.status_code","type":"string","value":"ERROR"},
  {"key":"otel.status_description","type":"string","value":"database down"},
  {"key":"ratio","type":"float64","value":0.5}],"logs":[],"processID":"p1","warnings":null},
{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"c000000000000001","operationName":"decode",
 "references":[{"refType":"CHILD_OF","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7"}],
 "startTime":1796320800000350,"duration":3,"tags":[],"logs":[],"processID":"p3","warnings":null}],
"processes":{"p1":{"serviceName":"ms1","tags":[{"key":"telemetry.sdk.language","type":"string","value":"cpp"}]},
             "p2":{"serviceName":"ms2","tags":[]},"p3":{"serviceName":"ms3","tags":[]}},"warnings":null}],
"total":0,"limit":0,"offset":0,"errors":null})";

/// Jaeger's answer for a trace it does not have.
constexpr std::string_view kJaegerNotFound =
    R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]})";

TEST(JaegerTrace, TranslatesSpansByStartTime) {
  const auto t = translate_jaeger_trace(kJaegerTrace, kTraceId, "http://127.0.0.1:16686/");
  ASSERT_EQ(t.answer, JaegerAnswer::kTrace) << t.error;
  const auto body = json::parse(t.json).as_object();
  EXPECT_EQ(body.at("trace_id").as_string(), kTraceId);
  EXPECT_EQ(body.at("jaeger_ui").as_string(), "http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736");
  const auto& spans = body.at("spans").as_array();
  ASSERT_EQ(spans.size(), 4u);
  const auto& root = spans[0].as_object();
  EXPECT_EQ(root.at("span_id").as_string(), "a3ce929d0e0e4736");
  EXPECT_TRUE(root.at("parent_span_id").is_null());
  EXPECT_EQ(root.at("service").as_string(), "ms1");
  EXPECT_EQ(root.at("name").as_string(), "send");
  EXPECT_EQ(root.at("kind").as_string(), "producer");
  EXPECT_EQ(root.at("start_unix_us").as_int64(), 1796320800000100);
  EXPECT_EQ(root.at("duration_us").as_int64(), 5230);
  EXPECT_EQ(root.at("status").as_string(), "ok");
  EXPECT_EQ(root.at("attributes").at("session_id").as_int64(), 7);
  EXPECT_EQ(root.at("attributes").at("messaging.system").as_string(), "websocket");
  EXPECT_FALSE(root.at("attributes").as_object().contains("span.kind")) << "kind and status have fields of their own";
  EXPECT_FALSE(root.at("attributes").as_object().contains("otel.status_code"));
  const auto& ms2 = spans[1].as_object();
  EXPECT_EQ(ms2.at("service").as_string(), "ms2");
  EXPECT_EQ(ms2.at("parent_span_id").as_string(), "a3ce929d0e0e4736");
  EXPECT_EQ(ms2.at("status").as_string(), "unset");
  const auto& internal = spans[2].as_object();
  EXPECT_EQ(internal.at("service").as_string(), "ms3");
  EXPECT_TRUE(internal.at("kind").is_null()) << "Jaeger tags no kind on an internal span";
  const auto& store = spans[3].as_object();
  EXPECT_EQ(store.at("parent_span_id").as_string(), "00f067aa0ba902b7") << "CHILD_OF, not FOLLOWS_FROM";
  EXPECT_EQ(store.at("status").as_string(), "error");
  EXPECT_EQ(store.at("attributes").at("otel.status_description").as_string(), "database down");
  EXPECT_EQ(store.at("attributes").at("ratio").as_double(), 0.5);
  EXPECT_EQ(store.at("attributes").at("error").as_bool(), true);
}

TEST(JaegerTrace, WithoutAUiUrlThereIsNoLink) {
  const auto t = translate_jaeger_trace(kJaegerTrace, kTraceId, "");
  ASSERT_EQ(t.answer, JaegerAnswer::kTrace);
  EXPECT_TRUE(json::parse(t.json).at("jaeger_ui").is_null());
}

TEST(JaegerTrace, NotFoundAndMalformed) {
  EXPECT_EQ(translate_jaeger_trace(kJaegerNotFound, kTraceId, "").answer, JaegerAnswer::kNotFound);
  EXPECT_EQ(translate_jaeger_trace(R"({"data":[]})", kTraceId, "").answer, JaegerAnswer::kNotFound);
  for (const auto* bad : {"", "<html>", "[]", R"({"data":5})", R"({"data":[{"spans":{}}]})",
                          R"({"data":[{"spans":[{"spanID":"a"}]}]})", R"({"data":[{"spans":[7]}]})"}) {
    const auto t = translate_jaeger_trace(bad, kTraceId, "");
    EXPECT_EQ(t.answer, JaegerAnswer::kMalformed) << bad;
    EXPECT_FALSE(t.error.empty()) << bad;
  }
}

TEST(JaegerTrace, TraceIds) {
  EXPECT_TRUE(is_trace_id(kTraceId));
  EXPECT_FALSE(is_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736"));
  EXPECT_FALSE(is_trace_id("4bf92f3577b34da6a3ce929d0e0e473"));
  EXPECT_FALSE(is_trace_id("4bf92f3577b34da6a3ce929d0e0e4736a"));
  EXPECT_FALSE(is_trace_id("4bf92f3577b34da6a3ce929d0e0e473g"));
}

/// What the fake Jaeger answers: status and body.
struct Answer {
  unsigned status = 200;
  std::string body;
};

/// A stand-in for Jaeger's query port: MS1's own HTTP listener on a thread of its own, answering
/// as scripted and recording what it was asked.
class FakeJaeger final : public common::RequestHandler {
 public:
  using Script = std::function<Answer(const std::string& target)>;

  FakeJaeger()
      : listener_(std::make_shared<common::HttpListener>(
            ioc_, boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}, *this,
            common::HttpLimits{})) {
    listener_->run();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeJaeger() override {
    ioc_.stop();
    thread_.join();
  }
  void handle(common::HttpRequest&& request, common::Responder respond) override {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::string(request.method_string()) + " " + std::string(request.target()) +
                        (request.body().empty() ? "" : " with a body"));
    const auto answer = script_ ? script_(std::string(request.target())) : Answer{};
    respond(common::json_response(static_cast<http::status>(answer.status), answer.body));
  }
  void script(Script script) {
    std::lock_guard lock(mutex_);
    script_ = std::move(script);
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(listener_->local_endpoint().port()) + std::string(path);
  }

 private:
  boost::asio::io_context ioc_{1};
  std::shared_ptr<common::HttpListener> listener_;
  std::mutex mutex_;
  Script script_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

/// A port nobody listens on (bound, then released).
std::uint16_t unused_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

class TraceRelayTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::off); }

  common::TracingConfig config(std::string query_url) {
    common::TracingConfig c;
    c.query_url = std::move(query_url);
    c.ui_url = "http://ui.example:16686";
    return c;
  }
  common::HttpResponse get(TraceRelay& relay, std::string target) {
    std::optional<common::HttpResponse> out;
    relay.handle(common::HttpRequest{http::verb::get, target, 11}, [&](common::HttpResponse r) { out = std::move(r); });
    test::eventually([&] {
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(2));
      return out.has_value();
    });
    return out.value_or(common::HttpResponse{http::status::gateway_timeout, 11});
  }
  static std::string error(const common::HttpResponse& r) {
    return std::string(json::parse(r.body()).at("error").as_string());
  }

  boost::asio::io_context ioc{1};
  FakeJaeger jaeger;
};

TEST_F(TraceRelayTest, RelaysJaegersTrace) {
  jaeger.script([](const std::string& target) {
    if (target == "/jaeger/api/traces/4bf92f3577b34da6a3ce929d0e0e4736") return Answer{200, std::string(kJaegerTrace)};
    return Answer{404, std::string(kJaegerNotFound)};
  });
  TraceRelay relay(config(jaeger.url("/jaeger/")), ioc.get_executor());
  auto r = get(relay, "/traces/4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  const auto body = json::parse(r.body());
  EXPECT_EQ(body.at("spans").as_array().size(), 4u);
  EXPECT_EQ(body.at("jaeger_ui").as_string(), "http://ui.example:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_EQ(jaeger.requests().size(), 1u);
  EXPECT_EQ(jaeger.requests()[0], "GET /jaeger/api/traces/4bf92f3577b34da6a3ce929d0e0e4736");
  r = get(relay, "/traces/00000000000000000000000000000001");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(error(r), "trace 00000000000000000000000000000001 not found in Jaeger");
  EXPECT_EQ(jaeger.requests().size(), 2u);
}

TEST_F(TraceRelayTest, BadIdIs400WithoutAskingJaeger) {
  TraceRelay relay(config(jaeger.url("/")), ioc.get_executor());
  EXPECT_EQ(error(get(relay, "/traces/xyz")), "trace id: expected 32 lowercase hex digits, got 'xyz'");
  EXPECT_EQ(get(relay, "/traces/4BF92F3577B34DA6A3CE929D0E0E4736").result(), http::status::bad_request);
  EXPECT_EQ(get(relay, "/traces/4bf92f3577b34da6a3ce929d0e0e4736?x=1").result(), http::status::bad_request);
  EXPECT_TRUE(jaeger.requests().empty());
}

TEST_F(TraceRelayTest, OtherAnswersAndNoAnswerAre502) {
  TraceRelay relay(config(jaeger.url("/")), ioc.get_executor());
  jaeger.script([](const std::string&) { return Answer{500, "{}"}; });
  auto r = get(relay, "/traces/4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.result(), http::status::bad_gateway);
  EXPECT_NE(error(r).find("answered 500"), std::string::npos);
  jaeger.script([](const std::string&) { return Answer{200, "<html>placeholder</html>"}; });
  r = get(relay, "/traces/4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.result(), http::status::bad_gateway);
  EXPECT_NE(error(r).find("not a trace"), std::string::npos);

  TraceRelay down(config("http://127.0.0.1:" + std::to_string(unused_port())), ioc.get_executor());
  r = get(down, "/traces/4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.result(), http::status::bad_gateway);
  EXPECT_NE(error(r).find("not reachable"), std::string::npos);
}

TEST_F(TraceRelayTest, WithoutAQueryUrlIs503) {
  TraceRelay relay(config(""), ioc.get_executor());
  const auto r = get(relay, "/traces/4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.result(), http::status::service_unavailable);
  EXPECT_EQ(error(r), "tracing.query_url is empty: no Jaeger to ask");
}

}  // namespace
}  // namespace ringtrace::ms1
