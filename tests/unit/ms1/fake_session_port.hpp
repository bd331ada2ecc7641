#pragma once
/// @file
/// The session controller's transport as its tests see it: what it was asked to send and the
/// summaries it reported, with a link that can be taken down.

#include <vector>

#include "ringtrace/ms1/ring/session_controller.hpp"

namespace ringtrace::ms1::fakes {

/// Records what the controller asks of its transport; the link can be taken down.
class FakePort : public SessionPort {
 public:
  bool send(const common::Message& message, bool resend, common::tracing::Span&) override {
    if (!link_up) return false;
    sent.push_back(message);
    if (resend) ++resends;
    return true;
  }
  /// Records at once, as a database that never fails would.
  void finished(const SessionSummary& summary) override {
    summaries.push_back(summary);
    if (controller != nullptr) controller->recorded();
  }

  /// What MS2, Kafka and MS3 would do: the message comes back stamped.
  common::Message returned(const common::Message& m) const {
    common::Message back = m;
    back.at(common::Hop::kMs2) = common::now_utc();
    back.at(common::Hop::kMs3) = common::now_utc();
    back.at(common::Hop::kEnd) = common::now_utc();
    return back;
  }

  SessionController* controller = nullptr;  ///< told recorded() from finished() when set
  bool link_up = true;
  int resends = 0;
  std::vector<common::Message> sent;
  std::vector<SessionSummary> summaries;
};

/// Any steady-clock instant: the controller only ever compares times.
inline const auto t0 = SteadyClock::time_point{} + std::chrono::hours(1);

}  // namespace ringtrace::ms1::fakes
