#include "ringtrace/ms3/kafka_consumer.hpp"

#include <algorithm>
#include <iterator>
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
      // Last answer wins, not the highest offset: an older commit retried after a coordinator
      // move can land after a newer one and take the group's offset back.
      const std::pair<std::string, std::int32_t> partition{tp->topic(), tp->partition()};
      if (tp->offset() >= 0 && owned_.count(partition)) committed_[partition] = tp->offset();
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
    for (const auto* tp : partitions) owned_.insert({tp->topic(), tp->partition()});
  } else {
    // Eager rebalancing revokes everything; what comes back is assigned afresh.
    for (const auto* tp : partitions) {
      owned_.erase({tp->topic(), tp->partition()});
      next_offsets_.erase({tp->topic(), tp->partition()});
      committed_.erase({tp->topic(), tp->partition()});
      given_up_.erase({tp->topic(), tp->partition()});
    }
  }
  assigned_.store(static_cast<int>(owned_.size()), std::memory_order_relaxed);
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
  }
  failed_ = false;
  given_up_.clear();  // the new consumer starts at the committed offsets: nothing of ours is pending
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

std::map<std::pair<std::string, std::int32_t>, std::int64_t> KafkaConsumer::next_offsets(
    const std::vector<const RdKafka::Message*>& records) {
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
  for (const auto* record : records) {
    auto& offset = next[{record->topic_name(), record->partition()}];
    offset = std::max(offset, record->offset() + 1);
  }
  return next;
}

void KafkaConsumer::commit(const std::vector<const RdKafka::Message*>& records) {
  const auto next = next_offsets(records);
  if (next.empty()) return;
  PartitionList list;
  {
    std::lock_guard lock(offsets_mutex_);
    for (const auto* record : records) {
      // A partition's first record since it was assigned sits where the group's offset was then:
      // until the broker acknowledges a commit, that is what it holds.
      const std::pair<std::string, std::int32_t> partition{record->topic_name(), record->partition()};
      if (owned_.count(partition)) committed_.try_emplace(partition, record->offset());
    }
    for (const auto& [partition, offset] : next) {
      next_offsets_[partition] = offset;
      list.items.push_back(RdKafka::TopicPartition::create(partition.first, partition.second, offset));
    }
  }
  last_commit_ = std::chrono::steady_clock::now();
  recommit_wait_ = kRecommitAfter;
  if (auto err = consumer_->commitAsync(list.items); err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("ms3: commit of {} not sent: {}", describe(list.items), RdKafka::err2str(err));
  }
}

bool KafkaConsumer::commit_sync(const std::vector<const RdKafka::Message*>& records) {
  const auto next = next_offsets(records);
  if (next.empty()) return true;
  PartitionList list;
  for (const auto& [partition, offset] : next) {
    list.items.push_back(RdKafka::TopicPartition::create(partition.first, partition.second, offset));
  }
  auto err = consumer_->commitSync(list.items);
  for (const auto* item : list.items) {
    if (err == RdKafka::ERR_NO_ERROR) err = item->err();
  }
  if (err != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("ms3: commit of {} failed: {}", describe(list.items), RdKafka::err2str(err));
    return false;
  }
  std::lock_guard lock(offsets_mutex_);
  for (const auto& [partition, offset] : next) {
    next_offsets_[partition] = offset;
    if (owned_.count(partition)) committed_[partition] = offset;
    if (auto it = given_up_.find(partition); it != given_up_.end() && it->second <= offset) given_up_.erase(it);
  }
  return true;
}

void KafkaConsumer::give_up(const std::vector<const RdKafka::Message*>& records) {
  for (const auto& [partition, offset] : next_offsets(records)) {
    auto& pending = given_up_[partition];
    pending = std::max(pending, offset);
  }
}

bool KafkaConsumer::retry_given_up() {
  if (given_up_.empty()) return true;
  // Only owned partitions are here: on_rebalance() drops a revoked one's, whose new owner commits
  // from where it starts. Both run on the consuming thread, so none is revoked in between.
  PartitionList list;
  for (const auto& [partition, offset] : given_up_) {
    list.items.push_back(RdKafka::TopicPartition::create(partition.first, partition.second, offset));
  }
  auto err = consumer_->commitSync(list.items);
  for (const auto* item : list.items) {
    if (err == RdKafka::ERR_NO_ERROR) err = item->err();
  }
  if (err != RdKafka::ERR_NO_ERROR) return false;
  spdlog::info("ms3: committed past the records given up: {}", describe(list.items));
  std::lock_guard lock(offsets_mutex_);
  for (const auto* item : list.items) {
    const std::pair<std::string, std::int32_t> partition{item->topic(), item->partition()};
    auto& next = next_offsets_[partition];
    next = std::max(next, item->offset());
    if (owned_.count(partition)) committed_[partition] = next;
    given_up_.erase(partition);
  }
  return given_up_.empty();
}

bool KafkaConsumer::recommit() {
  const auto now = std::chrono::steady_clock::now();
  PartitionList list;
  std::string held;
  {
    std::lock_guard lock(offsets_mutex_);
    for (const auto& [partition, next] : next_offsets_) {
      if (!owned_.count(partition)) continue;
      const auto it = committed_.find(partition);
      if (it != committed_.end() && it->second == next) continue;
      list.items.push_back(RdKafka::TopicPartition::create(partition.first, partition.second, next));
      fmt::format_to(std::back_inserter(held), "{}{}[{}]@{}", held.empty() ? "" : ", ", partition.first,
                     partition.second, it == committed_.end() ? std::string("none") : std::to_string(it->second));
    }
  }
  if (list.items.empty()) return true;
  if (now - last_commit_ < recommit_wait_) return false;  // the last commit may still be on its way
  last_commit_ = now;
  recommit_wait_ = std::min(recommit_wait_ * 2, kRecommitMax);
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
  std::int64_t lag = 0;
  for (const auto& [partition, next] : next_offsets_) {
    if (!owned_.count(partition)) continue;  // committed after it was revoked: the new owner's now
    const auto acknowledged = committed_.find(partition);
    const auto base = acknowledged != committed_.end() ? acknowledged->second : next;
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (consumer_->get_watermark_offsets(partition.first, partition.second, &low, &high) == RdKafka::ERR_NO_ERROR &&
        high > base) {
      lag += high - base;
    }
  }
  return lag;
}

void KafkaConsumer::close() {
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> offsets;
  {
    // Scrapes stop reading watermarks from here on; the slow commit below runs without the lock.
    std::lock_guard lock(offsets_mutex_);
    if (closed_) return;
    closed_ = true;
    for (const auto& [partition, offset] : next_offsets_) {
      if (owned_.count(partition)) offsets[partition] = offset;  // never over another member's commits
    }
  }
  if (!offsets.empty()) {
    PartitionList list;
    for (const auto& [partition, offset] : offsets) {
      list.items.push_back(RdKafka::TopicPartition::create(partition.first, partition.second, offset));
    }
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
