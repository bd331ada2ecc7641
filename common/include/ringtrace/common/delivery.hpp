#pragma once
/// @file
/// The ring's delivery guarantee (`kafka.delivery`) and what it means at every hop, decided once:
/// each service asks the DeliveryPolicy for its own part instead of testing the mode itself, and
/// a test holds docs/guarantees.md's table to it.

#include <array>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace ringtrace::common {

/// Which Kafka delivery guarantee the ring gives (`kafka.delivery`); see docs/guarantees.md.
enum class Delivery {
  kAtMostOnce,   ///< never twice, may lose
  kAtLeastOnce,  ///< never lost, may repeat
  kExactlyOnce,  ///< at-least-once plus the idempotent producer; MS1's keyed store absorbs repeats
};

/// The three modes, in the order the documentation lists them.
inline constexpr std::array<Delivery, 3> kDeliveryModes = {Delivery::kAtMostOnce, Delivery::kAtLeastOnce,
                                                           Delivery::kExactlyOnce};

/// `at-most-once`, `at-least-once`, `exactly-once`: the configuration spelling.
std::string_view to_string(Delivery delivery);

/// The inverse of to_string(Delivery); nullopt for anything else.
std::optional<Delivery> parse_delivery(std::string_view text);

/// When MS3 commits a batch's offsets relative to its POSTs to MS1.
enum class CommitPoint {
  kBeforeStore,  ///< synchronously, before the POSTs: a crash after it loses, never repeats
  kAfterStore,   ///< once MS1 took (or refused for good) every record: a crash repeats, never loses
};

/// How many times a message is offered to the next hop.
enum class Attempts {
  kOnce,         ///< one try; what fails is given up (and counted)
  kUntilTaken,   ///< tried again, with backoff, until the next hop takes it
};

/// One librdkafka producer property: name and value.
using KafkaProperty = std::pair<std::string_view, std::string_view>;

namespace detail {
// One leader acknowledgement and no retries: a record whose request fails is dropped, never sent
// twice. Records queued while the broker is down still go out once it is back.
inline constexpr KafkaProperty kProducerOnce[] = {
    {"enable.idempotence", "false"}, {"acks", "1"}, {"message.send.max.retries", "0"}};
// Every in-sync replica, retried until message.timeout.ms (librdkafka's default retries): a
// retry after a lost acknowledgement may write the record twice (MS1's resends cover records MS2
// never sent).
inline constexpr KafkaProperty kProducerRetrying[] = {{"enable.idempotence", "false"}, {"acks", "all"}};
// The idempotent producer: the broker drops a retried batch it already has (sequence numbers
// per producer id), so retries neither duplicate nor reorder records in the partition.
inline constexpr KafkaProperty kProducerIdempotent[] = {{"enable.idempotence", "true"}, {"acks", "all"}};
}  // namespace detail

/// What a delivery mode means at every hop. Built once by DeliveryPolicy::of(); the services
/// read it, never the mode, so a mode's meaning lives here alone.
struct DeliveryPolicy {
  Delivery mode;  ///< the mode this policy spells out
  /// MS1 → MS2: what was in flight when the link dropped, or not back within the resend
  /// timeout, is sent again (kUntilTaken) or given up and counted lost (kOnce).
  Attempts ms1_send;
  /// MS2 → Kafka: the producer's acknowledgement, retry and idempotence settings.
  std::span<const KafkaProperty> producer;
  /// Kafka → MS3: when the consumed offsets are committed.
  CommitPoint commit;
  /// MS3 → MS1: whether a POST MS1 did not take is retried (a request on a kept-alive connection
  /// found closed included: MS1 may have stored it, so one attempt means no resend at all).
  Attempts ms3_store;

  /// The policy of `mode`.
  static constexpr DeliveryPolicy of(Delivery mode) {
    switch (mode) {
      case Delivery::kAtMostOnce:
        return {mode, Attempts::kOnce, detail::kProducerOnce, CommitPoint::kBeforeStore, Attempts::kOnce};
      case Delivery::kAtLeastOnce:
        return {mode, Attempts::kUntilTaken, detail::kProducerRetrying, CommitPoint::kAfterStore,
                Attempts::kUntilTaken};
      case Delivery::kExactlyOnce:
        return {mode, Attempts::kUntilTaken, detail::kProducerIdempotent, CommitPoint::kAfterStore,
                Attempts::kUntilTaken};
    }
    return of(Delivery::kAtLeastOnce);
  }

  /// MS1 resends what the link lost instead of giving it up.
  [[nodiscard]] constexpr bool resends() const { return ms1_send == Attempts::kUntilTaken; }
  /// MS3 commits a batch before its POSTs (and must not POST what failed to commit).
  [[nodiscard]] constexpr bool commits_first() const { return commit == CommitPoint::kBeforeStore; }
  /// MS3 POSTs each record once, whatever happens to it.
  [[nodiscard]] constexpr bool stores_once() const { return ms3_store == Attempts::kOnce; }
};

}  // namespace ringtrace::common
