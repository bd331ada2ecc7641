#pragma once
/// @file
/// The names of the ring's spans and of the attributes they carry, defined once: the services
/// set them, and what reads the traces (tests, Jaeger queries, the dashboard) looks for these.
/// Attribute keys follow OpenTelemetry's semantic conventions where one exists.

#include <string_view>

#include "ringtrace/common/tracing.hpp"

namespace ringtrace::common::tracing {

/// Span names, one per step of a message's cycle.
namespace span {
/// MS1 sends a message to MS2: the root of the message's trace.
inline constexpr std::string_view kSend = "send";
/// MS2 receives the message's WebSocket frame.
inline constexpr std::string_view kWsReceive = "ws receive";
/// MS2 produces the record, until the broker acknowledged it.
inline constexpr std::string_view kKafkaProduce = "kafka produce";
/// MS3 processes the consumed record.
inline constexpr std::string_view kKafkaConsume = "kafka consume";
/// MS3's POST to MS1 (MS1's server span for the same request is named by its method and route).
inline constexpr std::string_view kPostStore = "POST /store";
}  // namespace span

/// Attribute keys.
namespace attr {
/// The session the message belongs to: Jaeger's searches for a session's traces use it.
inline constexpr AttributeKey kSessionId = "session_id";
/// The message's id within its session.
inline constexpr AttributeKey kMessageId = "message.id";
/// `websocket` or `kafka`.
inline constexpr AttributeKey kMessagingSystem = "messaging.system";
/// `receive` or `process`.
inline constexpr AttributeKey kMessagingOperation = "messaging.operation";
/// Where a message is sent: MS2's URL, the Kafka topic.
inline constexpr AttributeKey kMessagingDestination = "messaging.destination.name";
/// Where a message was consumed from: the Kafka topic.
inline constexpr AttributeKey kMessagingSource = "messaging.source.name";
/// The Kafka record's key.
inline constexpr AttributeKey kKafkaMessageKey = "messaging.kafka.message.key";
/// The WebSocket peer's address.
inline constexpr AttributeKey kNetPeerName = "net.peer.name";
/// The HTTP method.
inline constexpr AttributeKey kHttpMethod = "http.request.method";
/// The HTTP route (the path without its query).
inline constexpr AttributeKey kHttpRoute = "http.route";
/// The HTTP answer's status.
inline constexpr AttributeKey kHttpStatus = "http.response.status_code";
/// How many times the request was sent before this attempt.
inline constexpr AttributeKey kHttpResendCount = "http.request.resend_count";
/// The full URL requested.
inline constexpr AttributeKey kUrlFull = "url.full";
}  // namespace attr

/// Values of attr::kMessagingSystem.
namespace system_name {
/// The MS1 → MS2 link.
inline constexpr std::string_view kWebSocket = "websocket";
/// The MS2 → MS3 link.
inline constexpr std::string_view kKafka = "kafka";
}  // namespace system_name

}  // namespace ringtrace::common::tracing
