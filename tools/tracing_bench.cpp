/// @file
/// ringtrace-tracing-bench: what tracing costs per span, outside the test suite.
///
///   ringtrace-tracing-bench encode [SPANS_PER_BATCH] [ROUNDS]
///       encoding cost per span, OTLP JSON vs protobuf, on batches shaped like the ring's spans
///   ringtrace-tracing-bench span [SPANS] [ROUNDS]
///       one span as MS2's "kafka produce": start_span (child of a parent), set_attribute x5, end;
///       on the recording thread only (CPU time of that thread)
///   ringtrace-tracing-bench record [MESSAGES] [ROUNDS]
///       the services' hot path: per message the ring's 6 spans (start_span, its attributes,
///       traceparent where a service sends one, end), on the recording thread only
///   ringtrace-tracing-bench export URL [MESSAGES] [--protocol P] [--pid PID]
///       record and export to a real collector; this process's CPU per span, and with --pid the
///       collector's CPU per span (from /proc/PID/stat)
///
/// Built with -DRINGTRACE_BENCH_JSON_ONLY it also compiles against a tree that only has the JSON
/// encoder, so the same source measures before and after.

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"

namespace {

using namespace ringtrace::common;
using namespace ringtrace::common::tracing;

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// utime + stime of another process, in seconds (clock-tick resolution).
double process_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// A port nothing listens on, so an idle exporter's POSTs fail at once.
std::string closed_url() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/v1/traces";
}

const std::string kTopic = "ringtrace.messages";
const std::string kStoreUrl = "http://127.0.0.1:8080/store";
const std::string kMs2Url = "ws://127.0.0.1:8081/ws";
const std::string kPeer = "127.0.0.1:45678";

/// One message's spans as MS1, MS2 and MS3 record them (same names, kinds and attributes).
[[gnu::noinline]] std::size_t record_message(Tracer& tracer, std::int64_t session_id, std::int64_t id) {
  std::size_t sent = 0;  // keeps the traceparents from being optimised away
  auto send = tracer.start_span("send", SpanKind::kProducer);
  send.set_attribute("messaging.system", std::string("websocket"));
  send.set_attribute("messaging.destination.name", kMs2Url);
  send.set_attribute("session_id", session_id);
  send.set_attribute("message.id", id);
  sent += std::string_view(send.traceparent()).size();
  {
    auto receive = tracer.start_span("ws receive", SpanKind::kConsumer, send.context());
    receive.set_attribute("messaging.system", std::string("websocket"));
    receive.set_attribute("messaging.operation", std::string("receive"));
    receive.set_attribute("net.peer.name", kPeer);
    receive.set_attribute("session_id", session_id);
    receive.set_attribute("message.id", id);
    auto produce = tracer.start_span("kafka produce", SpanKind::kProducer, receive.context());
    produce.set_attribute("messaging.system", std::string("kafka"));
    produce.set_attribute("messaging.destination.name", kTopic);
    produce.set_attribute("messaging.kafka.message.key", std::to_string(session_id));
    produce.set_attribute("session_id", session_id);
    produce.set_attribute("message.id", id);
    sent += std::string_view(produce.traceparent()).size();
    produce.end();
    receive.end();
  }
  auto consume = tracer.start_span("kafka consume", SpanKind::kConsumer, send.context());
  consume.set_attribute("messaging.system", std::string("kafka"));
  consume.set_attribute("messaging.operation", std::string("process"));
  consume.set_attribute("messaging.source.name", kTopic);
  consume.set_attribute("session_id", session_id);
  consume.set_attribute("message.id", id);
  auto post = tracer.start_span("POST /store", SpanKind::kClient, consume.context());
  post.set_attribute("http.request.method", std::string("POST"));
  post.set_attribute("url.full", kStoreUrl);
  post.set_attribute("session_id", session_id);
  post.set_attribute("message.id", id);
  const std::string traceparent(post.traceparent());  // MS3 keeps it as a string
  sent += traceparent.size();
  auto server = tracer.start_span("POST /store", SpanKind::kServer, parse_traceparent(traceparent));
  server.set_attribute("http.request.method", std::string("POST"));
  server.set_attribute("http.route", std::string("/store"));
  server.set_attribute("http.response.status_code", std::int64_t{201});
  server.set_attribute("session_id", session_id);
  server.set_attribute("message.id", id);
  server.end();
  post.set_attribute("http.response.status_code", std::int64_t{201});
  post.set_attribute("http.request.resend_count", std::int64_t{0});
  post.end();
  consume.end();
  send.end();
  return sent;
}

constexpr int kSpansPerMessage = 6;

/// start_span + set_attribute x5 + end, as MS2 records "kafka produce" (not inlined, so
/// callgrind --toggle-collect can count it).
[[gnu::noinline]] void record_span(Tracer& tracer, const SpanContext& parent, std::int64_t session_id, std::int64_t id) {
  auto produce = tracer.start_span("kafka produce", SpanKind::kProducer, parent);
  produce.set_attribute("messaging.system", std::string("kafka"));
  produce.set_attribute("messaging.destination.name", kTopic);
  produce.set_attribute("messaging.kafka.message.key", std::to_string(session_id));
  produce.set_attribute("session_id", session_id);
  produce.set_attribute("message.id", id);
  produce.end();
}

/// `n` finished spans shaped like the ring's (the six kinds in turn), by value.
std::vector<SpanData> ring_spans(std::size_t n) {
  std::vector<SpanData> spans;
  spans.reserve(n);
  SpanContext parent = *parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  for (std::size_t i = 0; i < n; ++i) {
    SpanData span;
    span.context = parent;
    span.context.span_id[7] = static_cast<std::uint8_t>(i);
    span.context.span_id[6] = static_cast<std::uint8_t>(i >> 8);
    if (i % kSpansPerMessage != 0) span.parent = parent.span_id;
    span.start_unix_ns = 1'760'000'000'000'000'000ULL + i * 1000;
    span.end_unix_ns = span.start_unix_ns + 250'000;
    const auto id = static_cast<std::int64_t>(i / kSpansPerMessage + 1);
    switch (i % kSpansPerMessage) {
      case 0:
        span.name = "send";
        span.kind = SpanKind::kProducer;
        span.attributes = {{"messaging.system", std::string("websocket")},
                           {"messaging.destination.name", kMs2Url},
                           {"session_id", std::int64_t{42}},
                           {"message.id", id}};
        break;
      case 1:
        span.name = "ws receive";
        span.kind = SpanKind::kConsumer;
        span.attributes = {{"messaging.system", std::string("websocket")},
                           {"messaging.operation", std::string("receive")},
                           {"net.peer.name", kPeer},
                           {"session_id", std::int64_t{42}},
                           {"message.id", id}};
        break;
      case 2:
        span.name = "kafka produce";
        span.kind = SpanKind::kProducer;
        span.attributes = {{"messaging.system", std::string("kafka")},
                           {"messaging.destination.name", kTopic},
                           {"messaging.kafka.message.key", std::string("42")},
                           {"session_id", std::int64_t{42}},
                           {"message.id", id}};
        break;
      case 3:
        span.name = "kafka consume";
        span.kind = SpanKind::kConsumer;
        span.attributes = {{"messaging.system", std::string("kafka")},
                           {"messaging.operation", std::string("process")},
                           {"messaging.source.name", kTopic},
                           {"session_id", std::int64_t{42}},
                           {"message.id", id}};
        break;
      case 4:
        span.name = "POST /store";
        span.kind = SpanKind::kClient;
        span.attributes = {{"http.request.method", std::string("POST")},
                           {"url.full", kStoreUrl},
                           {"session_id", std::int64_t{42}},
                           {"message.id", id},
                           {"http.response.status_code", std::int64_t{201}},
                           {"http.request.resend_count", std::int64_t{0}}};
        break;
      default:
        span.name = "POST /store";
        span.kind = SpanKind::kServer;
        span.attributes = {{"http.request.method", std::string("POST")},
                           {"http.route", std::string("/store")},
                           {"http.response.status_code", std::int64_t{201}},
                           {"session_id", std::int64_t{42}},
                           {"message.id", id}};
        break;
    }
    spans.push_back(std::move(span));
  }
  return spans;
}

int encode(std::size_t batch, int rounds) {
  const auto spans = ring_spans(batch);
  std::size_t bytes = 0;
  double start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  for (int r = 0; r < rounds; ++r) bytes = to_otlp_json("ms2", spans).size();
  const double json_ns = (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e9 / static_cast<double>(batch * rounds);
  std::printf("encode json:     %8.1f ns/span  %6.1f bytes/span  (batch %zu, %d rounds)\n", json_ns,
              static_cast<double>(bytes) / static_cast<double>(batch), batch, rounds);
#ifndef RINGTRACE_BENCH_JSON_ONLY
  // As the exporter holds them: by pointer, into one reused buffer.
  std::vector<std::unique_ptr<SpanData>> held;
  for (const auto& span : spans) held.push_back(std::make_unique<SpanData>(span));
  std::string body;
  start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  for (int r = 0; r < rounds; ++r) {
    body.clear();
    append_otlp_protobuf(body, "ms2", held);
  }
  const double proto_ns = (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e9 / static_cast<double>(batch * rounds);
  std::printf("encode protobuf: %8.1f ns/span  %6.1f bytes/span  (%.1fx faster, %.1fx smaller)\n", proto_ns,
              static_cast<double>(body.size()) / static_cast<double>(batch), json_ns / proto_ns,
              static_cast<double>(bytes) / static_cast<double>(body.size()));
#endif
  return 0;
}

/// A tracer whose exporter sleeps while we measure: nothing listens, batches are never full, the
/// flush interval is an hour; the destructor's flush then fails at once.
TracingConfig idle_config(int spans) {
  TracingConfig config;
  config.endpoint = closed_url();
  config.queue_max = spans + 1;
  config.batch_max = 100000;
  config.flush_interval_ms = 3'600'000;
  config.timeout_ms = 10'000;
  return config;
}

int span(int spans, int rounds) {
  spdlog::set_level(spdlog::level::err);  // "cannot reach" is expected: nothing listens
  const SpanContext parent = *parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    Tracer tracer(idle_config(spans), "bench");
    const double start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < spans; ++i) record_span(tracer, parent, 42, i + 1);
    const double ns = (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e9 / static_cast<double>(spans);
    best = std::min(best, ns);
    std::printf("span round %d: %7.1f ns/span\n", r, ns);
  }
  std::printf("span best:    %7.1f ns/span (start_span + set_attribute x5 + end)\n", best);
  return 0;
}

int record(int messages, int rounds) {
  spdlog::set_level(spdlog::level::err);  // "cannot reach" is expected: nothing listens
  std::size_t sink = 0;
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    Tracer tracer(idle_config(messages * kSpansPerMessage), "bench");
    const double start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < messages; ++i) sink += record_message(tracer, 42, i + 1);
    const double ns = (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e9 / static_cast<double>(messages);
    best = std::min(best, ns);
    std::printf("record round %d: %8.1f ns/message  %7.1f ns/span  (queued %d spans)\n", r, ns,
                ns / kSpansPerMessage, messages * kSpansPerMessage);
  }
  std::printf("record best:    %8.1f ns/message  %7.1f ns/span  [%zu]\n", best, best / kSpansPerMessage, sink % 10);
  return 0;
}

int export_to(const std::string& url, int messages, const std::string& protocol, int pid) {
  TracingConfig config;
  config.endpoint = url;
  config.queue_max = 1'000'000;
  config.flush_interval_ms = 200;
  config.timeout_ms = 10'000;
#ifndef RINGTRACE_BENCH_JSON_ONLY
  const std::string& label = protocol;
  if (protocol == "http/json") {
    config.protocol = TracingProtocol::kHttpJson;
  } else if (protocol != "http/protobuf") {
    std::fprintf(stderr, "unknown protocol %s\n", protocol.c_str());
    return 2;
  }
#else
  const std::string label = "http/json";  // all such a tree can send
  (void)protocol;
#endif
  const auto session = static_cast<std::int64_t>(::getpid());
  const double idle_from = pid > 0 ? process_cpu_seconds(pid) : 0;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double idle = pid > 0 ? process_cpu_seconds(pid) - idle_from : 0;  // the collector's own CPU per second

  const double collector_start = pid > 0 ? process_cpu_seconds(pid) : 0;
  const auto wall_start = std::chrono::steady_clock::now();
  const double start = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  std::size_t sink = 0;
  TracerStats stats;
  {
    Tracer tracer(config, "ringtrace-bench");
    for (int i = 0; i < messages; ++i) {
      sink += record_message(tracer, session, i + 1);
      // Paced like a busy ring (about 20k messages/s) so the queue never overflows.
      if (i % 1000 == 999) std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
    tracer.flush();
    stats = tracer.stats();
  }
  const double ours = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - start;
  const auto spans = static_cast<double>(messages) * kSpansPerMessage;
  std::printf("export %s: exported %llu dropped %llu failed %llu [%zu]\n", label.c_str(),
              static_cast<unsigned long long>(stats.exported), static_cast<unsigned long long>(stats.dropped),
              static_cast<unsigned long long>(stats.failed), sink % 10);
  std::printf("  this process (record + encode + POST): %7.2f us/span  %7.2f us/message\n", ours * 1e6 / spans,
              ours * 1e6 / messages);
  if (pid > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(4));  // the collector batches before it stores
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double collector = process_cpu_seconds(pid) - collector_start - idle * seconds;
    std::printf("  collector pid %d (idle %.3f CPU-s/s subtracted): %7.2f us/span  %7.2f us/message\n", pid, idle,
                collector * 1e6 / spans, collector * 1e6 / messages);
  }
  return stats.exported == static_cast<std::uint64_t>(spans) ? 0 : 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: ringtrace-tracing-bench encode [SPANS_PER_BATCH] [ROUNDS]\n"
               "       ringtrace-tracing-bench span [SPANS] [ROUNDS]\n"
               "       ringtrace-tracing-bench record [MESSAGES] [ROUNDS]\n"
               "       ringtrace-tracing-bench export URL [MESSAGES] [--protocol http/protobuf|http/json] [--pid PID]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  auto number = [&](std::size_t i, int fallback) { return args.size() > i ? std::stoi(args[i]) : fallback; };
  if (args[0] == "encode") return encode(static_cast<std::size_t>(number(1, 512)), number(2, 200));
  if (args[0] == "span") return span(number(1, 100000), number(2, 5));
  if (args[0] == "record") return record(number(1, 20000), number(2, 5));
  if (args[0] == "export" && args.size() >= 2) {
    int messages = 5000;
    std::string protocol = "http/protobuf";
    int pid = 0;
    for (std::size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "--protocol" && i + 1 < args.size()) {
        protocol = args[++i];
      } else if (args[i] == "--pid" && i + 1 < args.size()) {
        pid = std::stoi(args[++i]);
      } else {
        messages = std::stoi(args[i]);
      }
    }
    return export_to(args[1], messages, protocol, pid);
  }
  return usage();
}
