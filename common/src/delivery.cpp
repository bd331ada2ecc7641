#include "ringtrace/common/delivery.hpp"

namespace ringtrace::common {

std::string_view to_string(Delivery delivery) {
  switch (delivery) {
    case Delivery::kAtMostOnce: return "at-most-once";
    case Delivery::kAtLeastOnce: return "at-least-once";
    case Delivery::kExactlyOnce: return "exactly-once";
  }
  return "unknown";
}

std::optional<Delivery> parse_delivery(std::string_view text) {
  for (const auto d : kDeliveryModes) {
    if (text == to_string(d)) return d;
  }
  return std::nullopt;
}

}  // namespace ringtrace::common
