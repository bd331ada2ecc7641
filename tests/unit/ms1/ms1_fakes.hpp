#pragma once
/// @file
/// Stand-ins for MS1's link to MS2 and its database, and a small MS1 put together from them,
/// so the API handlers and the session runner are tested without a socket or a server.

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/metrics.hpp"
#include "ringtrace/common/tracing.hpp"
#include "fake_database.hpp"
#include "ringtrace/ms1/service/health_api.hpp"
#include "ringtrace/ms1/service/http_api.hpp"
#include "ringtrace/ms1/ring/message_store.hpp"
#include "ringtrace/ms1/ring/ms1_metrics.hpp"
#include "ringtrace/ms1/ring/ms2_link.hpp"
#include "ringtrace/ms1/ring/session_api.hpp"
#include "ringtrace/ms1/ring/session_runner.hpp"
#include "ringtrace/ms1/ring/store_api.hpp"
#include "ringtrace/ms1/ring/store_writer.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms1::fakes {

/// The link to MS2: keeps what was sent; can be taken down.
class FakeLink : public Ms2Link {
 public:
  [[nodiscard]] bool connected() const override { return up; }
  bool send(std::string text) override {
    if (!up) return false;
    frames.push_back(std::move(text));
    return true;
  }
  [[nodiscard]] std::uint64_t connects() const override { return 1; }

  bool up = true;                   ///< connected() and whether send() succeeds
  std::vector<std::string> frames;  ///< every frame sent, in order
};

/// The configuration the fixtures start from: tracing on (exported nowhere), quick retries.
inline common::Config test_config(bool tracing) {
  auto config = common::parse_config("", {});
  config.tracing.enabled = tracing;
  config.tracing.endpoint = "http://127.0.0.1:1/v1/traces";
  config.tracing.timeout_ms = 100;
  config.interaction.duration_seconds = 60;
  config.interaction.progress_interval_ms = 0;
  config.interaction.drain_timeout_ms = 5000;
  config.interaction.resend_timeout_ms = 0;
  return config;
}

/// MS1 without its sockets: the handlers, the runner and a writer over the fake database (or a
/// real one, for the integration tests), all on one io_context the test drives.
class FakeMs1 {
 public:
  explicit FakeMs1(common::Config config) : FakeMs1(std::move(config), nullptr) {}
  /// Writes to `store` instead of the fake database when it is given.
  FakeMs1(common::Config config, std::unique_ptr<MessageStore> store)
      : config_(std::move(config)),
        tracer_(config_.tracing, "ms1"),
        writer_(store ? std::move(store) : std::make_unique<FakeStore>(db), ioc_.get_executor(), quick_writer()),
        m_(register_metrics(registry_, tracer_)),
        runner(ioc_, RunnerSettings::from(config_), tracer_, writer_, link, m_),
        session_api_(runner, link, writer_, config_.ms1.ms2_url),
        store_api_(writer_, runner, m_, config_.message.naming),
        health_api_(link, writer_, runner, registry_),
        api_(std::in_place, tracer_, session_api_, store_api_, health_api_) {
    register_gauges(registry_, {[this] { return static_cast<double>(runner.controller().status(SteadyClock::now()).in_flight); },
                                [this] { return link.connected() ? 1.0 : 0.0; },
                                [this] { return static_cast<double>(link.connects()); },
                                [this] { return writer_.connected() ? 1.0 : 0.0; },
                                [this] { return static_cast<double>(writer_.connects()); },
                                [this] { return static_cast<double>(writer_.queue_depth()); },
                                &runner.clock_book()});
  }
  ~FakeMs1() {
    runner.cancel();
    writer_.stop();
  }

  /// Runs the loop until `done` holds (or the deadline).
  template <typename Pred>
  bool run_until(Pred done) {
    return test::eventually(
        [&] {
          ioc_.restart();
          ioc_.run_for(std::chrono::milliseconds(2));
          return done();
        },
        test::kDefaultDeadline, std::chrono::milliseconds(0));
  }

  /// Extra request headers, as name and value.
  using Headers = std::vector<std::pair<std::string, std::string>>;

  /// Sends a request through the API without answering it yet; the response lands in `out`.
  void send(boost::beast::http::verb verb, std::string target, std::optional<common::HttpResponse>& out,
            std::string body = {}, std::string content_type = {}, const Headers& headers = {}) {
    common::HttpRequest request{verb, target, 11};
    if (!content_type.empty()) request.set(boost::beast::http::field::content_type, content_type);
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    request.prepare_payload();
    api_->handle(std::move(request), [&out](common::HttpResponse response) { out = std::move(response); });
  }

  /// One request, answered.
  common::HttpResponse call(boost::beast::http::verb verb, std::string target, std::string body = {},
                            std::string content_type = {}, const Headers& headers = {}) {
    std::optional<common::HttpResponse> out;
    send(verb, std::move(target), out, std::move(body), std::move(content_type), headers);
    run_until([&] { return out.has_value(); });
    return out.value_or(common::HttpResponse{boost::beast::http::status::gateway_timeout, 11});
  }

  /// A frame sent to MS2, decoded (its traceparent, when tracing, set aside).
  [[nodiscard]] common::Message sent(std::size_t frame) const {
    std::string traceparent;
    auto decoded = common::decode(link.frames.at(frame), config_.message.naming, &traceparent);
    return decoded ? *decoded.message : common::Message{};
  }

  /// A frame sent to MS2, as MS3 would post it back: stamped by MS2 and MS3.
  [[nodiscard]] std::string returned(std::size_t frame) const { return round_trip(sent(frame)); }

  /// Message `id` of `session` as MS3 would post it, whether this MS1 sent it or not.
  [[nodiscard]] std::string returned(std::int64_t session, std::int64_t id) const {
    common::Message m;
    m.session_id = session;
    m.id = id;
    common::stamp(m, common::Hop::kMs1, common::now_utc());
    return round_trip(std::move(m));
  }

  /// Waits for the writer's first connection.
  bool connected() { return test::eventually([&] { return writer_.connected(); }); }

  /// The loop everything runs on, for a listener in front of `api`.
  boost::asio::io_context& ioc() { return ioc_; }

  /// The metrics page as text.
  [[nodiscard]] std::string metrics_text() const { return registry_.render(); }

  std::shared_ptr<FakeDatabase> db = std::make_shared<FakeDatabase>();  ///< what the writer writes to
  FakeLink link;

 private:
  [[nodiscard]] std::string round_trip(common::Message m) const {
    common::stamp(m, common::Hop::kMs2, common::now_utc());
    common::stamp(m, common::Hop::kMs3, common::now_utc());
    return common::encode(m, config_.message.naming);
  }

  static StoreWriterOptions quick_writer() {
    StoreWriterOptions options;
    options.reconnect_initial = std::chrono::milliseconds(1);
    options.reconnect_max = std::chrono::milliseconds(10);
    return options;
  }

  common::Config config_;
  common::MetricsRegistry registry_;
  common::tracing::Tracer tracer_;
  boost::asio::io_context ioc_{1};
  StoreWriter writer_;
  Ms1Metrics m_;

 public:
  SessionRunner runner;  ///< exposed: tests call shutdown() and the link callbacks

 private:
  SessionApi session_api_;
  StoreApi store_api_;
  HealthApi health_api_;

 public:
  /// The front the tests call; served over a real listener by the body-limit tests.
  HttpApi& api() { return *api_; }
  /// Puts a front with `options` (a token, the report routes) in place of the plain one.
  void reassemble(HttpApiOptions options) {
    api_.emplace(tracer_, session_api_, store_api_, health_api_, std::move(options));
  }

 private:
  std::optional<HttpApi> api_;
};

}  // namespace ringtrace::ms1::fakes
