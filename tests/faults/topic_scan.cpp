/// @file
/// ringtrace-topic-scan: what the fault harness needs to know from Kafka, as one JSON object on
/// stdout: every record of a topic (as `[session_id, id]`, read from the start of each partition up
/// to its end), and, per partition, the end offset and the offset a consumer group committed.
/// It never joins the group and never commits.
///
///   ringtrace-topic-scan --brokers HOST:PORT --topic NAME --group ID [--timeout-ms N]
///
/// Exit status: 0 on success, 1 when Kafka did not answer in time, 2 on bad arguments.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <librdkafka/rdkafkacpp.h>

namespace {

namespace json = boost::json;

struct Options {
  std::string brokers;
  std::string topic;
  std::string group;
  int timeout_ms = 20000;
};

int usage(const std::string& why) {
  std::cerr << "ringtrace-topic-scan: " << why
            << "\nusage: ringtrace-topic-scan --brokers HOST:PORT --topic NAME --group ID [--timeout-ms N]\n";
  return 2;
}

/// Owns the TopicPartition pointers the C++ API wants.
struct Partitions {
  std::vector<RdKafka::TopicPartition*> items;
  Partitions() = default;
  Partitions(const Partitions&) = delete;
  Partitions& operator=(const Partitions&) = delete;
  ~Partitions() { RdKafka::TopicPartition::destroy(items); }
};

/// `[session_id, id]` of a record, or null when the payload is not a message.
json::value key_of(const RdKafka::Message& record) {
  boost::system::error_code ec;
  const auto value = json::parse(std::string_view(static_cast<const char*>(record.payload()), record.len()), ec);
  if (ec || !value.is_object()) return nullptr;
  const auto* session = value.as_object().if_contains("session_id");
  const auto* id = value.as_object().if_contains("id");
  if (session == nullptr || id == nullptr || !session->is_int64() || !id->is_int64()) return nullptr;
  return json::array{session->as_int64(), id->as_int64()};
}

int scan(const Options& options) {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [name, value] : {std::pair<std::string, std::string>{"bootstrap.servers", options.brokers},
                                    {"group.id", options.group},
                                    {"enable.auto.commit", "false"},
                                    {"enable.auto.offset.store", "false"},
                                    {"enable.partition.eof", "false"},
                                    {"log_level", "3"}}) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) return usage(name + ": " + error);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) {
    std::cerr << "ringtrace-topic-scan: " << error << "\n";
    return 1;
  }
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(consumer.get(), options.topic, nullptr, error));
  RdKafka::Metadata* raw = nullptr;
  if (!handle || consumer->metadata(false, handle.get(), &raw, options.timeout_ms) != RdKafka::ERR_NO_ERROR) {
    std::cerr << "ringtrace-topic-scan: no metadata for topic " << options.topic << "\n";
    return 1;
  }
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  Partitions committed;
  for (const auto* topic : *metadata->topics()) {
    if (topic->topic() != options.topic || topic->err() != RdKafka::ERR_NO_ERROR) continue;
    for (const auto* partition : *topic->partitions()) {
      committed.items.push_back(RdKafka::TopicPartition::create(options.topic, partition->id()));
    }
  }
  if (committed.items.empty()) {
    std::cerr << "ringtrace-topic-scan: topic " << options.topic << " has no partitions\n";
    return 1;
  }
  if (consumer->committed(committed.items, options.timeout_ms) != RdKafka::ERR_NO_ERROR) {
    std::cerr << "ringtrace-topic-scan: committed offsets of group " << options.group << " not available\n";
    return 1;
  }

  json::array partitions;
  Partitions assignment;
  std::vector<std::int64_t> ends;
  for (const auto* tp : committed.items) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (consumer->query_watermark_offsets(options.topic, tp->partition(), &low, &high, options.timeout_ms) !=
        RdKafka::ERR_NO_ERROR) {
      std::cerr << "ringtrace-topic-scan: end offset of partition " << tp->partition() << " not available\n";
      return 1;
    }
    partitions.push_back(json::object{{"partition", tp->partition()},
                                      {"end", high},
                                      {"committed", tp->offset() >= 0 ? json::value(tp->offset()) : json::value(nullptr)}});
    assignment.items.push_back(RdKafka::TopicPartition::create(options.topic, tp->partition(), RdKafka::Topic::OFFSET_BEGINNING));
    ends.push_back(high);
  }

  consumer->assign(assignment.items);
  json::array records;
  std::size_t undecodable = 0;
  std::vector<std::int64_t> next(ends.size(), 0);
  const auto done = [&] {
    for (std::size_t i = 0; i < ends.size(); ++i) {
      if (next[i] < ends[i]) return false;
    }
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "ringtrace-topic-scan: timed out reading " << options.topic << "\n";
      return 1;
    }
    std::unique_ptr<RdKafka::Message> record(consumer->consume(100));
    if (record->err() != RdKafka::ERR_NO_ERROR) continue;
    for (std::size_t i = 0; i < assignment.items.size(); ++i) {
      if (assignment.items[i]->partition() == record->partition()) next[i] = record->offset() + 1;
    }
    auto key = key_of(*record);
    if (key.is_null()) {
      ++undecodable;
    } else {
      records.push_back(std::move(key));
    }
  }
  consumer->close();
  std::cout << json::serialize(json::object{{"topic", options.topic},
                                            {"partitions", std::move(partitions)},
                                            {"records", std::move(records)},
                                            {"undecodable", undecodable}})
            << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage("missing value after " + arg);
    const std::string value = argv[++i];
    if (arg == "--brokers") {
      options.brokers = value;
    } else if (arg == "--topic") {
      options.topic = value;
    } else if (arg == "--group") {
      options.group = value;
    } else if (arg == "--timeout-ms") {
      try {
        options.timeout_ms = std::stoi(value);
      } catch (const std::exception&) {
        return usage("--timeout-ms needs a number");
      }
    } else {
      return usage("unknown argument " + arg);
    }
  }
  if (options.brokers.empty() || options.topic.empty() || options.group.empty()) {
    return usage("--brokers, --topic and --group are required");
  }
  return scan(options);
}
