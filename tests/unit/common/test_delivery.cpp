// What each delivery mode means at every hop, as the one policy the services ask.
#include "ringtrace/common/delivery.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace ringtrace::common {
namespace {

TEST(DeliveryPolicy, EachModeMeansOneThingAtEveryHop) {
  const auto at_most = DeliveryPolicy::of(Delivery::kAtMostOnce);
  EXPECT_FALSE(at_most.resends());
  EXPECT_TRUE(at_most.commits_first());
  EXPECT_TRUE(at_most.stores_once());
  for (const auto mode : {Delivery::kAtLeastOnce, Delivery::kExactlyOnce}) {
    const auto policy = DeliveryPolicy::of(mode);
    EXPECT_EQ(policy.mode, mode);
    EXPECT_TRUE(policy.resends()) << to_string(mode);
    EXPECT_FALSE(policy.commits_first()) << to_string(mode);
    EXPECT_FALSE(policy.stores_once()) << to_string(mode);
  }
}

TEST(DeliveryPolicy, OnlyExactlyOnceIsIdempotent) {
  for (const auto mode : kDeliveryModes) {
    const auto policy = DeliveryPolicy::of(mode);
    const bool idempotent = std::find(policy.producer.begin(), policy.producer.end(),
                                      KafkaProperty{"enable.idempotence", "true"}) != policy.producer.end();
    EXPECT_EQ(idempotent, mode == Delivery::kExactlyOnce) << to_string(mode);
  }
}

TEST(DeliveryPolicy, ModesAreSpelledAsTheConfigurationSpellsThem) {
  for (const auto mode : kDeliveryModes) EXPECT_EQ(parse_delivery(to_string(mode)), mode);
  EXPECT_FALSE(parse_delivery("exactly_once").has_value());
}

}  // namespace
}  // namespace ringtrace::common
