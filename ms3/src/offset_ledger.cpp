#include "ringtrace/ms3/offset_ledger.hpp"

#include <algorithm>

namespace ringtrace::ms3 {

void OffsetLedger::assign(const std::vector<Partition>& partitions) {
  owned_.insert(partitions.begin(), partitions.end());
}

void OffsetLedger::revoke(const std::vector<Partition>& partitions) {
  for (const auto& partition : partitions) {
    owned_.erase(partition);
    done_.erase(partition);
    held_.erase(partition);
    given_up_.erase(partition);
  }
}

Offsets OffsetLedger::processed(const Spans& spans, Clock::time_point now) {
  Offsets commit;
  for (const auto& [partition, span] : spans) {
    commit[partition] = span.next;
    if (!owns(partition)) continue;
    held_.try_emplace(partition, span.first);
    done_[partition] = span.next;
  }
  if (!commit.empty()) {
    last_commit_ = now;
    recommit_wait_ = kRecommitAfter;
  }
  return commit;
}

void OffsetLedger::acknowledged(const Partition& partition, std::int64_t offset) {
  if (offset >= 0 && owns(partition)) held_[partition] = offset;
}

void OffsetLedger::committed(const Offsets& offsets) {
  for (const auto& [partition, offset] : offsets) {
    if (!owns(partition)) continue;
    auto& done = done_[partition];
    done = std::max(done, offset);
    held_[partition] = offset;
    if (auto it = given_up_.find(partition); it != given_up_.end() && it->second <= offset) given_up_.erase(it);
  }
}

void OffsetLedger::give_up(const Offsets& next) {
  for (const auto& [partition, offset] : next) {
    if (!owns(partition)) continue;  // its new owner reads the records from its committed offset
    auto& pending = given_up_[partition];
    pending = std::max(pending, offset);
  }
}

Recommit OffsetLedger::recommit(Clock::time_point now) {
  Recommit answer;
  for (const auto& [partition, done] : done_) {
    const auto held = held_.find(partition);
    if (held != held_.end() && held->second == done) continue;
    answer.behind.push_back({partition, done, held != held_.end() ? std::optional(held->second) : std::nullopt});
  }
  if (answer.behind.empty()) {
    recommit_wait_ = kRecommitAfter;
    return answer;
  }
  if (now - last_commit_ < recommit_wait_) return answer;  // the last commit may still be on its way
  last_commit_ = now;
  recommit_wait_ = std::min(recommit_wait_ * 2, kRecommitMax);
  answer.due = true;
  return answer;
}

std::int64_t OffsetLedger::lag(const std::function<std::optional<std::int64_t>(const Partition&)>& end_of) const {
  std::int64_t lag = 0;
  for (const auto& [partition, done] : done_) {
    const auto held = held_.find(partition);
    const auto base = held != held_.end() ? held->second : done;
    if (const auto end = end_of(partition); end && *end > base) lag += *end - base;
  }
  return lag;
}

}  // namespace ringtrace::ms3
