/// @file
/// The Forwarder's decisions against a fake store client: what is sent, retried, rejected,
/// dropped or left uncommitted, and how a stop cuts a retry short. No sockets.

#include "ringtrace/ms3/forwarder.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"
#include "ringtrace/common/trace_names.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/test/fake_http_server.hpp"
#include "ringtrace/test/wait.hpp"

namespace ringtrace::ms3 {
namespace {

using namespace std::chrono_literals;
using common::Hop;
using common::Naming;

/// Records every batch and answers as scripted: `answer(attempt, body)` gives each record's
/// result (attempt counts store() calls from 1); by default every record is stored.
class FakeStoreClient final : public StoreClient {
 public:
  using Answer = std::function<StoreResult(int attempt, const std::string& body)>;

  std::vector<StoreResult> store(const std::vector<StoreRequest>& records) override {
    std::lock_guard lock(mutex_);
    ++calls_;
    std::vector<std::string> bodies;
    std::vector<StoreResult> results;
    for (const auto& record : records) {
      bodies.emplace_back(record.body);
      traceparents_.emplace_back(record.traceparent);
      results.push_back(answer_ ? answer_(calls_, bodies.back()) : status(201));
    }
    batches_.push_back(std::move(bodies));
    return results;
  }
  void cancel() override { cancelled_.store(true); }

  void answer(Answer answer) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(answer);
  }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<std::vector<std::string>> batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  bool cancelled() const { return cancelled_.load(); }
  std::vector<std::string> traceparents() const {
    std::lock_guard lock(mutex_);
    return traceparents_;
  }

  static StoreResult status(unsigned code, std::string body = "{}") {
    StoreResult result;
    result.status = code;
    result.body = std::move(body);
    return result;
  }
  static StoreResult refused() {
    StoreResult result;
    result.ec = boost::asio::error::connection_refused;
    return result;
  }

 private:
  mutable std::mutex mutex_;
  Answer answer_;
  int calls_ = 0;
  std::vector<std::vector<std::string>> batches_;
  std::vector<std::string> traceparents_;
  std::atomic<bool> cancelled_{false};
};

/// A message as MS2 hands it on: t1 and t2 stamped.
std::string record(std::int64_t id, int stamps = 2) {
  common::Message m;
  m.session_id = 4;
  m.id = id;
  m.at(Hop::kMs1) = common::now_utc();
  if (stamps >= 2) m.at(Hop::kMs2) = common::now_utc();
  if (stamps >= 3) m.at(Hop::kMs3) = common::now_utc();
  return common::encode(m, Naming::kService);
}

std::int64_t id_of(const std::string& body) { return common::decode(body, Naming::kService).message->id; }

class ForwarderTest : public ::testing::Test {
 protected:
  ForwarderTest() {
    config_.tracing.enabled = false;
    config_.ms3.retry_initial_ms = 1;
    config_.ms3.retry_max_ms = 4;
  }

  std::vector<ForwardOutcome> forward(const std::vector<std::string>& payloads) {
    std::vector<RecordView> views;
    for (const auto& payload : payloads) views.push_back({payload, {}});
    return forwarder().forward(views);
  }

  Forwarder& forwarder() {
    if (!forwarder_) forwarder_ = std::make_unique<Forwarder>(ForwarderSettings::from(config_), counters_, store_);
    return *forwarder_;
  }

  common::Config config_;
  Counters counters_;
  FakeStoreClient store_;
  std::unique_ptr<Forwarder> forwarder_;
};

TEST_F(ForwarderTest, StoresABatchInOneCallStampedAtMs3) {
  const auto outcomes = forward({record(1), record(2), record(3)});
  EXPECT_EQ(outcomes, std::vector<ForwardOutcome>(3, ForwardOutcome::kStored));
  const auto batches = store_.batches();
  ASSERT_EQ(batches.size(), 1u) << "one pipeline for the batch";
  ASSERT_EQ(batches[0].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto decoded = common::decode(batches[0][i], Naming::kService);
    ASSERT_TRUE(decoded) << decoded.error;
    EXPECT_EQ(decoded.message->id, static_cast<std::int64_t>(i + 1));
    EXPECT_TRUE(decoded.message->at(Hop::kMs3).has_value());
  }
  EXPECT_EQ(counters_.forwarded.load(), 3u);
  EXPECT_EQ(counters_.retries.load(), 0u);
  EXPECT_EQ(committable(outcomes), 3u);
}

TEST_F(ForwarderTest, UndecodableAndBadlyStampedRecordsArePassedUnsent) {
  const auto outcomes = forward({"not a message", record(2), record(3, /*stamps=*/3)});
  EXPECT_EQ(outcomes, (std::vector{ForwardOutcome::kUndecodable, ForwardOutcome::kStored, ForwardOutcome::kUndecodable}));
  const auto batches = store_.batches();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].size(), 1u);
  EXPECT_EQ(id_of(batches[0][0]), 2);
  EXPECT_EQ(counters_.undecodable.load(), 2u);
  EXPECT_EQ(committable(outcomes), 3u) << "passed records are committed too";
}

TEST_F(ForwarderTest, NothingToSendMeansNoCall) {
  EXPECT_EQ(forward({"garbage"}), std::vector{ForwardOutcome::kUndecodable});
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(ForwarderTest, RetriesTransientFailuresWithTheSameRecordUntilStored) {
  store_.answer([](int attempt, const std::string&) {
    if (attempt == 1) return FakeStoreClient::status(503);
    if (attempt == 2) return FakeStoreClient::refused();
    if (attempt == 3) return FakeStoreClient::status(429);
    if (attempt == 4) return FakeStoreClient::status(408);
    return FakeStoreClient::status(200);
  });
  EXPECT_EQ(forward({record(7)}), std::vector{ForwardOutcome::kStored});
  const auto batches = store_.batches();
  ASSERT_EQ(batches.size(), 5u);
  for (const auto& batch : batches) EXPECT_EQ(batch, batches.front()) << "a retry resends the same record";
  EXPECT_EQ(counters_.retries.load(), 4u);
  EXPECT_EQ(counters_.forwarded.load(), 1u);
}

TEST_F(ForwarderTest, RetriesOnlyTheRecordsMs1DidNotTake) {
  store_.answer([](int attempt, const std::string& body) {
    return attempt == 1 && id_of(body) == 2 ? FakeStoreClient::status(500) : FakeStoreClient::status(201);
  });
  const auto outcomes = forward({record(1), record(2), record(3)});
  EXPECT_EQ(outcomes, std::vector<ForwardOutcome>(3, ForwardOutcome::kStored));
  const auto batches = store_.batches();
  ASSERT_EQ(batches.size(), 2u);
  ASSERT_EQ(batches[1].size(), 1u);
  EXPECT_EQ(id_of(batches[1][0]), 2);
  EXPECT_EQ(counters_.retries.load(), 1u);
  EXPECT_EQ(counters_.forwarded.load(), 3u);
}

TEST_F(ForwarderTest, PermanentRefusalIsRejectedWithoutRetry) {
  store_.answer([](int, const std::string&) { return FakeStoreClient::status(422, R"({"error":"bad"})"); });
  const auto outcomes = forward({record(1)});
  EXPECT_EQ(outcomes, std::vector{ForwardOutcome::kRejected});
  EXPECT_EQ(store_.calls(), 1);
  EXPECT_EQ(counters_.rejected.load(), 1u);
  EXPECT_EQ(counters_.retries.load(), 0u);
  EXPECT_EQ(committable(outcomes), 1u);
}

TEST_F(ForwarderTest, AtMostOnceDropsAFailedRecordAfterOneAttempt) {
  config_.kafka.delivery = common::Delivery::kAtMostOnce;
  store_.answer([](int, const std::string&) { return FakeStoreClient::status(503); });
  EXPECT_EQ(forward({record(1), record(2)}), std::vector<ForwardOutcome>(2, ForwardOutcome::kDropped));
  EXPECT_EQ(store_.calls(), 1);
  EXPECT_EQ(counters_.dropped.load(), 2u);
  EXPECT_EQ(counters_.retries.load(), 0u);
}

TEST_F(ForwarderTest, AtMostOnceStopLetsTheOneAttemptFinish) {
  config_.kafka.delivery = common::Delivery::kAtMostOnce;
  forwarder().stop();
  EXPECT_FALSE(store_.cancelled()) << "the record is committed already: its POST must not be cut";
  EXPECT_EQ(forward({record(1)}), std::vector{ForwardOutcome::kStored});
}

TEST_F(ForwarderTest, StopDuringTheBackoffReturnsPromptlyAndLeavesTheRestUncommitted) {
  config_.ms3.retry_initial_ms = 60'000;  // only a stop can end this wait
  config_.ms3.retry_max_ms = 60'000;
  store_.answer([](int, const std::string& body) {
    return id_of(body) == 1 ? FakeStoreClient::status(200) : FakeStoreClient::status(503);
  });
  std::vector<ForwardOutcome> outcomes;
  const auto a = record(1);
  const auto b = record(2);
  const auto c = record(3);
  forwarder();  // built here, so the worker and this thread share a finished object
  std::thread worker([&] { outcomes = forward({a, b, c}); });
  ASSERT_TRUE(test::eventually([&] { return counters_.retries.load() == 2; }));
  const auto stopped_at = std::chrono::steady_clock::now();
  forwarder().stop();
  worker.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 1s);
  EXPECT_TRUE(store_.cancelled()) << "a POST in flight is cancelled too";
  EXPECT_TRUE(forwarder().stopping());
  EXPECT_EQ(outcomes, (std::vector{ForwardOutcome::kStored, ForwardOutcome::kStopped, ForwardOutcome::kStopped}));
  EXPECT_EQ(committable(outcomes), 1u) << "only what precedes the first unsent record is committed";
  EXPECT_EQ(store_.calls(), 1);
}

TEST_F(ForwarderTest, AfterAStopNothingIsSent) {
  forwarder().stop();
  EXPECT_EQ(forward({record(1)}), std::vector{ForwardOutcome::kStopped});
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(ForwarderTest, PostsBelowTheRecordsTraceAndExportsTheHopsSpans) {
  test::FakeHttpServer collector;
  config_.tracing.enabled = true;
  config_.tracing.endpoint = collector.url("/v1/traces");
  config_.tracing.protocol = common::TracingProtocol::kHttpJson;
  common::tracing::Tracer tracer(config_.tracing, "ms3");
  Forwarder forwarder(ForwarderSettings::from(config_), counters_, store_, &tracer);
  store_.answer([](int attempt, const std::string&) {
    return attempt == 1 ? FakeStoreClient::status(503) : FakeStoreClient::status(201);
  });
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string parent = "00-" + trace + "-00f067aa0ba902b7-01";
  const auto good = record(1);
  const auto outcomes = forwarder.forward({{good, parent}, {"garbage", parent}});
  EXPECT_EQ(outcomes, (std::vector{ForwardOutcome::kStored, ForwardOutcome::kUndecodable}));
  const auto sent = store_.traceparents();
  ASSERT_EQ(sent.size(), 2u) << "one record, two attempts";
  EXPECT_EQ(sent[0], sent[1]) << "a retry is the same POST span";
  EXPECT_EQ(sent[0].substr(0, 36), "00-" + trace + "-") << "the POST hangs below the record's trace";
  EXPECT_NE(sent[0], parent);
  tracer.flush();
  std::string exported;
  for (const auto& post : collector.requests()) exported += post.body;
  EXPECT_NE(exported.find("\"kafka consume\""), std::string::npos) << exported;
  EXPECT_NE(exported.find("\"POST /store\""), std::string::npos) << exported;
  EXPECT_NE(exported.find("http.request.resend_count"), std::string::npos) << exported;
  EXPECT_NE(exported.find("undecodable"), std::string::npos) << "the passed record's span says why";
}

/// The end time (Unix ns) of the exported span `name` of message `id`; 0 when none was exported.
std::uint64_t span_end(const std::vector<test::ReceivedRequest>& posts, std::string_view name, std::int64_t id) {
  for (const auto& post : posts) {
    const auto doc = boost::json::parse(post.body);
    for (const auto& resource : doc.at("resourceSpans").as_array()) {
      for (const auto& scope : resource.at("scopeSpans").as_array()) {
        for (const auto& span : scope.at("spans").as_array()) {
          if (span.at("name").as_string() != name) continue;
          for (const auto& attribute : span.at("attributes").as_array()) {
            if (attribute.at("key").as_string() == common::tracing::attr::kMessageId.view() &&
                attribute.at("value").at("intValue").as_string() == std::to_string(id)) {
              return std::stoull(std::string(span.at("endTimeUnixNano").as_string()));
            }
          }
        }
      }
    }
  }
  return 0;
}

TEST_F(ForwarderTest, ARecordStoredInARoundEndsItsSpansWithThatRoundNotAfterItsBatchMatesRetries) {
  test::FakeHttpServer collector;
  config_.tracing.enabled = true;
  config_.tracing.endpoint = collector.url("/v1/traces");
  config_.tracing.protocol = common::TracingProtocol::kHttpJson;
  config_.ms3.retry_initial_ms = 50;  // a round apart: a span ended late spans the wait
  common::tracing::Tracer tracer(config_.tracing, "ms3");
  Forwarder forwarder(ForwarderSettings::from(config_), counters_, store_, &tracer);
  std::atomic<std::uint64_t> second_round_ns{0};
  store_.answer([&](int attempt, const std::string& body) {
    if (attempt == 2 && second_round_ns.load() == 0) {
      second_round_ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count());
    }
    return attempt == 1 && id_of(body) == 2 ? FakeStoreClient::status(503) : FakeStoreClient::status(201);
  });
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const auto outcomes = forwarder.forward({{record(1), parent}, {record(2), parent}});
  ASSERT_EQ(outcomes, (std::vector{ForwardOutcome::kStored, ForwardOutcome::kStored}));
  ASSERT_EQ(store_.calls(), 2);
  tracer.flush();
  const auto posts = collector.requests();
  const auto first_post = span_end(posts, common::tracing::span::kPostStore, 1);
  const auto first_consume = span_end(posts, common::tracing::span::kKafkaConsume, 1);
  ASSERT_NE(first_post, 0u) << "message 1's POST span was exported";
  ASSERT_NE(first_consume, 0u) << "message 1's consume span was exported";
  EXPECT_LT(first_post, second_round_ns.load()) << "message 1 was stored in the first round";
  EXPECT_LT(first_consume, second_round_ns.load());
  EXPECT_GT(span_end(posts, common::tracing::span::kPostStore, 2), second_round_ns.load())
      << "message 2 was stored in the second";
}

TEST(Committable, CountsTheRecordsBeforeTheFirstStopped) {
  using O = ForwardOutcome;
  EXPECT_EQ(committable({}), 0u);
  EXPECT_EQ(committable({O::kStored, O::kRejected, O::kUndecodable, O::kDropped}), 4u);
  EXPECT_EQ(committable({O::kStored, O::kStopped, O::kStored}), 1u);
  EXPECT_EQ(committable({O::kStopped, O::kStored}), 0u);
}

TEST(ForwardOutcome, NamesForLogs) {
  EXPECT_EQ(to_string(ForwardOutcome::kStored), "stored");
  EXPECT_EQ(to_string(ForwardOutcome::kRejected), "rejected");
  EXPECT_EQ(to_string(ForwardOutcome::kUndecodable), "undecodable");
  EXPECT_EQ(to_string(ForwardOutcome::kStopped), "stopped");
  EXPECT_EQ(to_string(ForwardOutcome::kDropped), "dropped");
}

}  // namespace
}  // namespace ringtrace::ms3
