#pragma once
/// @file
/// One YAML configuration for all three services, overridable per key from the environment.
/// The member initializers below are the built-in defaults, written nowhere else: parsing starts
/// from them, config_reference() reads them back, and a test holds docs/configuration.md to that.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <string>
#include <vector>

#include "ringtrace/common/delivery.hpp"
#include "ringtrace/common/message.hpp"

namespace ringtrace::common {

/// Startup failure caused by configuration; the message names the offending key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How spans travel to the collector (`tracing.protocol`); the names are OpenTelemetry's
/// OTEL_EXPORTER_OTLP_PROTOCOL values.
enum class TracingProtocol {
  kHttpProtobuf,  ///< `http/protobuf`: binary, far cheaper to encode here and to decode in Jaeger
  kHttpJson,      ///< `http/json`: readable on the wire, for debugging a collector
};

/// `http/protobuf`, `http/json`: the configuration spelling.
std::string_view to_string(TracingProtocol protocol);

/// The inverse of to_string(TracingProtocol); nullopt for anything else.
std::optional<TracingProtocol> parse_tracing_protocol(std::string_view text);

/// Section `message`.
struct MessageConfig {
  Naming naming = Naming::kService;  ///< message.naming
};

/// Section `interaction`: what a session does.
struct InteractionConfig {
  int duration_seconds = 10;   ///< how long a session generates messages
  int window = 1;              ///< messages in flight at once
  int drain_timeout_ms = 5000; ///< wait for in-flight messages after generation stops
  int progress_interval_ms = 1000;  ///< progress line period on the console; 0 turns it off
  int resend_timeout_ms = 10000;    ///< a message not back after this is resent (or, at-most-once, counted lost); 0 = never
};

/// Section `logging`.
struct LoggingConfig {
  std::string level = "info";      ///< trace, debug, info, warn, error
  std::string directory = "logs";  ///< each service writes `<directory>/<service>.log`
};

/// Section `ms1`: HTTP API, WebSocket client to MS2.
struct Ms1Config {
  std::string listen_address = "127.0.0.1";     ///< HTTP bind address
  std::uint16_t port = 8080;                    ///< HTTP port
  std::string ms2_url = "ws://127.0.0.1:8081/ws";  ///< MS2's WebSocket endpoint
  std::size_t max_body_bytes = 64 * 1024;       ///< larger request bodies get 413
  int request_timeout_ms = 10000;               ///< idle/slow clients are dropped after this
  int reconnect_initial_ms = 100;               ///< first WebSocket reconnect delay
  int reconnect_max_ms = 5000;                  ///< reconnect backoff ceiling
  int ws_idle_timeout_ms = 3000;                ///< a silent MS2 link is dropped after this (pinged at half)
  int clock_probe_interval_ms = 1000;           ///< MS2 clock probes on the WebSocket; 0 = off
};

/// Section `ms2`: WebSocket server in front of the Kafka producer.
struct Ms2Config {
  std::string listen_address = "127.0.0.1";  ///< bind address
  std::uint16_t port = 8081;                 ///< WebSocket port
  std::string path = "/ws";                  ///< upgrade path
  std::size_t max_frame_bytes = 64 * 1024;   ///< larger frames close the connection (1009)
  std::uint16_t admin_port = 8091;           ///< /metrics and /healthz on listen_address; 0 = off
  int ws_idle_timeout_ms = 10000;            ///< a silent MS1 connection is dropped after this (pinged at half)
};

/// Section `ms3`: Kafka consumer forwarding to MS1.
struct Ms3Config {
  std::string listen_address = "127.0.0.1";  ///< bind address of the admin port
  std::uint16_t admin_port = 8092;           ///< /metrics and /healthz; 0 = off
  std::string store_url = "http://127.0.0.1:8080/store";  ///< where messages are POSTed
  int request_timeout_ms = 5000;  ///< per POST
  int retry_initial_ms = 50;      ///< first retry delay after a failed POST
  int retry_max_ms = 5000;        ///< retry backoff ceiling
  int max_in_flight = 256;        ///< POSTs pipelined on the connection to MS1 at most; 1 = one at a time
  std::string group_instance_id;  ///< Kafka static membership: a restarted MS3 gets its partitions back at once; empty = dynamic
};

/// Section `kafka`, shared by MS2 (producer) and MS3 (consumer).
struct KafkaConfig {
  std::string brokers = "127.0.0.1:9092";    ///< bootstrap servers
  std::string topic = "ringtrace.messages";  ///< created by MS2 if absent
  int partitions = 1;                        ///< used when creating the topic
  /// Replicas of each partition of the topic MS2 creates; above 1, min.insync.replicas is one
  /// fewer, so an acks=all write survives the loss of a broker.
  int replication_factor = 1;
  /// The record key, which picks the partition: `session` (one partition a session, its messages
  /// in order) or `message` (spread over every partition; the ring needs no order between messages).
  std::string key = "session";
  /// How long MS2 holds a record for others to join its produce request: 0 sends at once (the
  /// window-1 cycle), a few ms buys wide windows larger batches and a broker that works less.
  int linger_ms = 0;
  std::string group_id = "ringtrace-ms3";    ///< MS3 consumer group
  int startup_timeout_ms = 30000;            ///< how long to wait for the broker at startup
  Delivery delivery = Delivery::kAtLeastOnce;  ///< the guarantee MS1, MS2 and MS3 implement together
  int session_timeout_ms = 10000;            ///< a consumer silent this long loses its partitions
  int socket_timeout_ms = 10000;   ///< socket.timeout.ms: a broker silent this long on a request is dropped and reconnected
  int connect_timeout_ms = 5000;   ///< socket.connection.setup.timeout.ms: bounds a connection's setup, so TCP's SYN backoff cannot stretch a reconnect
  /// MS3's fetch.wait.max.ms, fixed for latency; librdkafka wants socket.timeout.ms 1 s above it.
  static constexpr int kFetchWaitMaxMs = 10;
};

/// Section `database`, used by MS1.
struct DatabaseConfig {
  std::string driver = "postgresql";  ///< postgresql | mariadb
  std::string host = "127.0.0.1";     ///< server address
  std::uint16_t port = 0;             ///< server port; 0 = the driver's (5432 / 3306)
  std::string name = "ringtrace";     ///< database name
  std::string user = "ringtrace";     ///< login
  std::string password = "ringtrace"; ///< password
  int batch_max = 512;                ///< rows written per transaction at most
  int connect_timeout_s = 5;          ///< per connection attempt
  int io_timeout_ms = 5000;           ///< a server that stops answering at the TCP level is dropped after this; a slow one is never cut
};

/// Section `tracing`: spans to Jaeger over OTLP/HTTP.
struct TracingConfig {
  bool enabled = true;                                        ///< false: no spans, no exporter thread
  std::string endpoint = "http://127.0.0.1:4318/v1/traces";   ///< OTLP/HTTP traces endpoint
  TracingProtocol protocol = TracingProtocol::kHttpProtobuf;  ///< body encoding of each POST
  int queue_max = 8192;            ///< finished spans waiting for export; beyond this they are dropped
  int batch_max = 512;             ///< spans per POST at most
  int flush_interval_ms = 200;     ///< a partial batch is sent after this
  int timeout_ms = 2000;           ///< per POST
};

/// Section `security`: the shared secret of the internal hops (docs/security.md).
struct SecurityConfig {
  std::string token;       ///< required on POST /store and the MS2 upgrade, sent by MS3 and MS1; empty = open
  std::string token_file;  ///< a file holding the token, read at load into `token`; empty = none
};

/// The whole configuration; each service reads its own section plus the shared ones.
struct Config {
  MessageConfig message;          ///< section `message`
  InteractionConfig interaction;  ///< section `interaction`
  LoggingConfig logging;          ///< section `logging`
  Ms1Config ms1;                  ///< section `ms1`
  Ms2Config ms2;                  ///< section `ms2`
  Ms3Config ms3;                  ///< section `ms3`
  KafkaConfig kafka;              ///< section `kafka`
  DatabaseConfig database;        ///< section `database`
  TracingConfig tracing;          ///< section `tracing`
  SecurityConfig security;        ///< section `security`; `token` holds the secret once loaded
};

/// Environment variables, as name → value (a seam so tests need not touch the real environment).
using Environment = std::map<std::string, std::string>;

/// The process environment's `RINGTRACE__*` variables.
Environment process_environment();

/// Every configuration key as `section.key`, the set the loader accepts.
std::vector<std::string> config_keys();

/// One row of the configuration reference, as docs/configuration.md's table must show it.
struct ConfigEntry {
  std::string key;            ///< `section.key`, as in the YAML file
  std::string type;           ///< what the loader accepts: an integer range, a string, a boolean or a choice
  std::string default_value;  ///< the built-in value, spelled as in the YAML file
  std::string description;    ///< one line for the reader of the reference
};

/// Every key with its type, built-in default and meaning, so documentation is checked, not trusted.
std::vector<ConfigEntry> config_reference();

/// `key`'s value in `config`, spelled as in the YAML file (a set `security.token` reads as
/// `(hidden)`, so no dump can show it); throws ConfigError for an unknown key.
std::string config_value(const Config& config, const std::string& key);

/// The environment variable that overrides `key` (`interaction.window` → `RINGTRACE__INTERACTION__WINDOW`).
std::string env_name(const std::string& key);

/// Builds a configuration from YAML text plus overrides, reading `security.token_file` into
/// `security.token`; throws ConfigError naming the key on unknown keys, non-scalar values, wrong
/// types or out-of-range values, and on both token keys set or an unreadable or empty token file.
Config parse_config(const std::string& yaml_text, const Environment& env);

/// Reads `path` (throws ConfigError if unreadable) and applies `env` over it.
Config load_config(const std::string& path, const Environment& env = process_environment());

/// The command line every service shares.
struct CommandLine {
  std::string config_path = "config/ringtrace.yaml";  ///< `--config PATH`
  bool help = false;          ///< `--help`: print usage and exit
  bool check_config = false;  ///< `--check-config`: load and validate the configuration, then exit
};

/// Parses `--config PATH`, `--check-config` and `--help`; throws ConfigError on anything else.
CommandLine parse_command_line(int argc, char** argv);

}  // namespace ringtrace::common
