#pragma once
/// @file
/// Where integration tests find the real servers: the services' own environment overrides
/// (RINGTRACE__<SECTION>__<KEY>), so a test and a service started beside it agree, with the
/// native defaults scripts/infra.sh uses.

#include <cstdlib>
#include <string>
#include <string_view>

namespace ringtrace::test {

/// The value of environment variable `name`, or `fallback` when it is unset or empty.
inline std::string env_or(const char* name, std::string_view fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

/// Kafka bootstrap servers: RINGTRACE__KAFKA__BROKERS, default 127.0.0.1:9092.
inline std::string kafka_brokers() { return env_or("RINGTRACE__KAFKA__BROKERS", "127.0.0.1:9092"); }

/// The replicated cluster of `scripts/infra.sh up kafka --brokers 3`: RINGTRACE_TEST_KAFKA_CLUSTER,
/// default its three nodes on loopback.
inline std::string kafka_cluster_brokers() {
  return env_or("RINGTRACE_TEST_KAFKA_CLUSTER", "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096");
}

/// Jaeger's OTLP/HTTP traces URL: RINGTRACE__TRACING__ENDPOINT, default http://127.0.0.1:4318/v1/traces.
inline std::string otlp_traces_url() {
  return env_or("RINGTRACE__TRACING__ENDPOINT", "http://127.0.0.1:4318/v1/traces");
}

/// "host:port" of the OTLP receiver, taken from otlp_traces_url() (default 127.0.0.1:4318).
inline std::string otlp_host_port() {
  std::string url = otlp_traces_url();
  if (const auto scheme = url.find("://"); scheme != std::string::npos) url.erase(0, scheme + 3);
  return url.substr(0, url.find('/'));
}

/// Jaeger's query API base URL on the same host as the OTLP receiver, port 16686
/// (default http://127.0.0.1:16686).
inline std::string jaeger_query_url() {
  const std::string host_port = otlp_host_port();
  const auto colon = host_port.rfind(':');
  return "http://" + host_port.substr(0, colon) + ":16686";
}

}  // namespace ringtrace::test
