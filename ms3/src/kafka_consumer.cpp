#include "ringtrace/ms3/kafka_consumer.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ringtrace/ms3/consumer_properties.hpp"

namespace ringtrace::ms3 {

namespace {

/// Owns the TopicPartition pointers the C++ API wants.
struct PartitionList {
  std::vector<RdKafka::TopicPartition*> items;
  PartitionList() = default;
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
  ~PartitionList() { RdKafka::TopicPartition::destroy(items); }
};

/// `partitions` as the ledger names them.
std::vector<Partition> partitions_of(const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<Partition> out;
  out.reserve(partitions.size());
  for (const auto* tp : partitions) out.push_back({tp->topic(), tp->partition()});
  return out;
}

/// Fills `list` with `offsets` as librdkafka takes them.
void fill(PartitionList& list, const Offsets& offsets) {
  for (const auto& [partition, offset] : offsets) {
    list.items.push_back(RdKafka::TopicPartition::create(partition.topic, partition.partition, offset));
  }
}

std::string describe(const std::vector<RdKafka::TopicPartition*>& offsets) {
  std::string out;
  for (const auto* tp : offsets) {
    if (!out.empty()) out += ", ";
    // fmt rather than chained operator+, which GCC 12 at -O2 flags with a false -Wrestrict.
    fmt::format_to(std::back_inserter(out), "{}[{}]@{}", tp->topic(), tp->partition(), tp->offset());
    if (tp->err() != RdKafka::ERR_NO_ERROR) fmt::format_to(std::back_inserter(out), " {}", RdKafka::err2str(tp->err()));
  }
  return out;
}

}  // namespace

void KafkaConsumer::CommitTracker::offset_commit_cb(RdKafka::ErrorCode err,
                                                    std::vector<RdKafka::TopicPartition*>& offsets) {
  owner_.on_committed(err, offsets);
}

void KafkaConsumer::on_committed(RdKafka::ErrorCode err, const std::vector<RdKafka::TopicPartition*>& offsets) {
  if (err == RdKafka::ERR__NO_OFFSET) return;  // nothing was asked for
  bool failed = false;
  {
    std::lock_guard lock(offsets_mutex_);
    for (const auto* tp : offsets) {
      if (err != RdKafka::ERR_NO_ERROR || tp->err() != RdKafka::ERR_NO_ERROR) {
        failed = true;
        continue;
      }
      ledger_.acknowledged({tp->topic(), tp->partition()}, tp->offset());
    }
  }
  if (failed) {
    spdlog::warn("ms3: commit failed ({}): {}; it is made again once the consumer is idle",
                 RdKafka::err2str(err), describe(offsets));
  } else {
    spdlog::debug("ms3: committed {}", describe(offsets));
  }
}

void KafkaConsumer::RebalanceLogger::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                                                   std::vector<RdKafka::TopicPartition*>& partitions) {
  std::string names;
  for (const auto* tp : partitions) {
    if (!names.empty()) names += ", ";
    names += tp->topic() + "[" + std::to_string(tp->partition()) + "]";
  }
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    spdlog::info("ms3: assigned {}", names);
    consumer->assign(partitions);
    owner_.on_rebalance(true, partitions);
  } else {
    spdlog::info("ms3: revoked {}", names);
    consumer->unassign();
    owner_.on_rebalance(false, partitions);
  }
}

void KafkaConsumer::on_rebalance(bool assigned, const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::lock_guard lock(offsets_mutex_);
  if (assigned) {
    ledger_.assign(partitions_of(partitions));
  } else {
    ledger_.revoke(partitions_of(partitions));
  }
  assigned_.store(static_cast<int>(ledger_.owned()), std::memory_order_relaxed);
}

KafkaConsumer::KafkaConsumer(const common::KafkaConfig& config, const std::string& group_instance_id)
    : config_(config), group_instance_id_(group_instance_id) {
  consumer_ = create();
  spdlog::info("ms3: consuming {} from {} as group {}{} ({})", config.topic, config.brokers, config.group_id,
               group_instance_id.empty() ? std::string() : " member " + group_instance_id,
               common::to_string(config.delivery));
}

std::unique_ptr<RdKafka::KafkaConsumer> KafkaConsumer::create() {
  const auto& config = config_;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [name, value] : consumer_properties(config, group_instance_id_)) {
    if (conf->set(name, value, error) != RdKafka::Conf::CONF_OK) {
      throw std::runtime_error("kafka consumer property " + name + "=" + value + ": " + error);
    }
  }
  if (conf->set("event_cb", &events_, error) != RdKafka::Conf::CONF_OK ||
      conf->set("offset_commit_cb", &commits_, error) != RdKafka::Conf::CONF_OK ||
      conf->set("rebalance_cb", &rebalance_, error) != RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("kafka consumer callbacks: " + error);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) {
    throw std::runtime_error("kafka consumer: " + error);
  }
  if (auto err = consumer->subscribe({config.topic}); err != RdKafka::ERR_NO_ERROR) {
    throw std::runtime_error("kafka consumer: subscribe to " + config.topic + ": " + RdKafka::err2str(err));
  }
  return consumer;
}

void KafkaConsumer::recreate() {
  // The failed handle is closed first: its revocation must not land after the new one's assignment.
  if (auto err = consumer_->close(); err != RdKafka::ERR_NO_ERROR) {
    spdlog::debug("ms3: closing the failed consumer: {}", RdKafka::err2str(err));
  }
  auto fresh = create();
  {
    std::lock_guard lock(offsets_mutex_);  // scrapes read watermarks through consumer_
    consumer_ = std::move(fresh);
    ledger_.forget_given_up();
  }
  failed_ = false;
  ++recreated_;
  spdlog::info("ms3: new consumer for {} joins group {}; it resumes from the committed offsets", config_.topic,
               config_.group_id);
}

KafkaConsumer::~KafkaConsumer() { close(); }

std::unique_ptr<RdKafka::Message> KafkaConsumer::consume(std::chrono::milliseconds timeout) {
  std::unique_ptr<RdKafka::Message> record(consumer_->consume(static_cast<int>(timeout.count())));
  switch (record->err()) {
    case RdKafka::ERR_NO_ERROR:
      return record;
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__PARTITION_EOF:
      return nullptr;
    case RdKafka::ERR__FATAL: {
      std::string reason;
      const auto cause = consumer_->fatal_error(reason);
      spdlog::error("ms3: the consumer hit a fatal error ({}: {}); replacing it", RdKafka::err2str(cause), reason);
      failed_ = true;
      return nullptr;
    }
    default:
      spdlog::warn("ms3: consume: {}", record->errstr());
      return nullptr;
  }
}

Spans KafkaConsumer::spans(const std::vector<const RdKafka::Message*>& records) {
  Spans spans;
  for (const auto* record : records) {
    const auto [it, fresh] =
        spans.try_emplace({record->topic_name(), record->partition()}, Span{record->offset(), record->offset() + 1});
    if (fresh) continue;
    it->second.first = std::min(it->second.first, record->offset());
    it->second.next = std::max(it->second.next, record->offset() + 1);
  }
  return spans;
}

Offsets KafkaConsumer::next_offsets(const std::vector<const RdKafka::Message*>& records) {
  Offsets next;
  for (const auto& [partition, span] : spans(records)) next.emplace(partition, span.next);
  return next;
}

void KafkaConsumer::commit(const std::vector<const RdKafka::Message*>& records) {
  const auto batch = spans(records);
  if (batch.empty()) return;
  PartitionList list;
  {
    std::lock_guard lock(offsets_mutex_);
    fill(list, ledger_.processed(batch, OffsetLedger::Clock::now()));
  }
  if (auto err = consumer_->commitAsync(list.items); err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("ms3: commit of {} not sent: {}", describe(list.items), RdKafka::err2str(err));
  }
}

bool KafkaConsumer::commit_sync(const std::vector<const RdKafka::Message*>& records) {
  const auto next = next_offsets(records);
  if (next.empty()) return true;
  PartitionList list;
  fill(list, next);
  auto err = consumer_->commitSync(list.items);
  for (const auto* item : list.items) {
    if (err == RdKafka::ERR_NO_ERROR) err = item->err();
  }
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("ms3: commit of {} failed: {}", describe(list.items), RdKafka::err2str(err));
    return false;
  }
  std::lock_guard lock(offsets_mutex_);
  ledger_.committed(next);
  return true;
}

void KafkaConsumer::give_up(const std::vector<const RdKafka::Message*>& records) {
  const auto next = next_offsets(records);
  std::lock_guard lock(offsets_mutex_);
  ledger_.give_up(next);
}

bool KafkaConsumer::retry_given_up() {
  Offsets given_up;
  {
    std::lock_guard lock(offsets_mutex_);
    given_up = ledger_.given_up();
  }
  if (given_up.empty()) return true;
  // Both this and on_rebalance() run on the consuming thread, so none is revoked in between.
  PartitionList list;
  fill(list, given_up);
  auto err = consumer_->commitSync(list.items);
  for (const auto* item : list.items) {
    if (err == RdKafka::ERR_NO_ERROR) err = item->err();
  }
  if (err != RdKafka::ERR_NO_ERROR) return false;
  spdlog::info("ms3: committed past the records given up: {}", describe(list.items));
  std::lock_guard lock(offsets_mutex_);
  ledger_.committed(given_up);
  return ledger_.given_up().empty();
}

bool KafkaConsumer::recommit() {
  PartitionList list;
  std::string held;
  {
    std::lock_guard lock(offsets_mutex_);
    const auto answer = ledger_.recommit(OffsetLedger::Clock::now());
    if (answer.behind.empty()) return true;
    if (!answer.due) return false;  // the last commit may still be on its way
    for (const auto& [partition, done, acknowledged] : answer.behind) {
      list.items.push_back(RdKafka::TopicPartition::create(partition.topic, partition.partition, done));
      fmt::format_to(std::back_inserter(held), "{}{}[{}]@{}", held.empty() ? "" : ", ", partition.topic,
                     partition.partition, acknowledged ? std::to_string(*acknowledged) : std::string("none"));
    }
  }
  recommits_.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("ms3: committing {} again: the broker acknowledged {}", describe(list.items), held);
  if (auto err = consumer_->commitAsync(list.items); err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("ms3: commit of {} not sent: {}", describe(list.items), RdKafka::err2str(err));
  }
  return false;
}

std::int64_t KafkaConsumer::commit_lag() const {
  std::lock_guard lock(offsets_mutex_);
  if (closed_) return 0;
  return ledger_.lag([this](const Partition& partition) -> std::optional<std::int64_t> {
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (consumer_->get_watermark_offsets(partition.topic, partition.partition, &low, &high) != RdKafka::ERR_NO_ERROR) {
      return std::nullopt;
    }
    return high;
  });
}

void KafkaConsumer::close() {
  Offsets offsets;
  {
    // Scrapes stop reading watermarks from here on; the slow commit below runs without the lock.
    std::lock_guard lock(offsets_mutex_);
    if (closed_) return;
    closed_ = true;
    offsets = ledger_.done();  // owned partitions only: never over another member's commits
  }
  if (!offsets.empty()) {
    PartitionList list;
    fill(list, offsets);
    if (auto err = consumer_->commitSync(list.items); err != RdKafka::ERR_NO_ERROR) {
      spdlog::warn("ms3: final commit failed ({}): {}", RdKafka::err2str(err), describe(list.items));
    } else {
      spdlog::info("ms3: final commit {}", describe(list.items));
    }
  }
  if (auto err = consumer_->close(); err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("ms3: consumer close: {}", RdKafka::err2str(err));
  }
}

}  // namespace ringtrace::ms3
