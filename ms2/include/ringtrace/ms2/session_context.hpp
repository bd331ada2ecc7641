#pragma once
/// @file
/// What every MS2 session needs from the service that outlives it.

#include <string>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms2/counters.hpp"
#include "ringtrace/ms2/log_throttle.hpp"
#include "ringtrace/ms2/record_sink.hpp"
#include "ringtrace/ms2/session_registry.hpp"

namespace ringtrace::ms2 {

/// What the WebSocket port and its sessions read of the configuration.
struct WsSettings {
  common::Ms2Config ms2;      ///< the upgrade path and the frame limit
  common::Naming naming = common::Naming::kService;  ///< the message's field names
  common::KafkaConfig kafka;  ///< the records' topic and key
  std::string token;          ///< security.token an upgrade must carry; empty: none asked
  /// Picks the settings out of the whole configuration, for the assembly.
  static WsSettings from(const common::Config& config);
};

/// References owned by Ms2Service; sessions hold this by reference, so the service outlives its io_context's handlers.
struct SessionContext {
  WsSettings settings;           ///< what the port and the sessions read of the configuration
  RecordSink& sink;              ///< where accepted frames go (the Kafka producer, or a fake in tests)
  Counters& counters;            ///< service totals
  SessionRegistry& registry;     ///< for closing sessions at shutdown
  LogThrottle& reject_log;       ///< rate limit for "rejected frame" lines
  common::tracing::Tracer& tracer;  ///< spans for every frame received and every record produced
};

}  // namespace ringtrace::ms2
