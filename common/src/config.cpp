#include "ringtrace/common/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "ringtrace/common/auth.hpp"
#include "ringtrace/common/endpoint.hpp"

extern char** environ;

namespace ringtrace::common {

namespace {

constexpr std::string_view kEnvPrefix = "RINGTRACE__";

/// Where a value came from, so errors point the user at the right place.
std::string origin(const std::string& key, bool from_env) {
  return from_env ? env_name(key) + " (" + key + ")" : key;
}

template <typename Int>
Int parse_int(const std::string& key, const std::string& text, bool from_env, long long min, long long max) {
  long long value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || text.empty()) {
    throw ConfigError(origin(key, from_env) + ": expected an integer, got '" + text + "'");
  }
  if (value < min || value > max) {
    throw ConfigError(origin(key, from_env) + ": " + text + " is out of range [" + std::to_string(min) + ", " +
                      std::to_string(max) + "]");
  }
  return static_cast<Int>(value);
}

bool parse_bool(const std::string& key, const std::string& text, bool from_env) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  throw ConfigError(origin(key, from_env) + ": expected true or false, got '" + text + "'");
}

std::string parse_nonempty(const std::string& key, const std::string& text, bool from_env) {
  if (text.empty()) throw ConfigError(origin(key, from_env) + ": must not be empty");
  return text;
}

std::string integer_type(long long min, long long max) {
  return "integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

/// One accepted key: how to read its value from text and write it back, and what to tell readers.
struct Field {
  std::string key;
  std::string type;
  std::string description;
  std::function<void(Config&, const std::string&, bool)> set;
  std::function<std::string(const Config&)> get;
};

#define RT_INT(KEY, MEMBER, MIN, MAX, DESCRIPTION)                                                  \
  Field {                                                                                         \
    KEY, integer_type(MIN, MAX), DESCRIPTION,                                                     \
        [](Config& c, const std::string& v, bool env) {                                           \
          c.MEMBER = parse_int<decltype(c.MEMBER)>(KEY, v, env, MIN, MAX);                        \
        },                                                                                        \
        [](const Config& c) { return std::to_string(c.MEMBER); }                                  \
  }
#define RT_STR(KEY, MEMBER, DESCRIPTION)                                                            \
  Field {                                                                                         \
    KEY, "string", DESCRIPTION,                                                                   \
        [](Config& c, const std::string& v, bool env) { c.MEMBER = parse_nonempty(KEY, v, env); }, \
        [](const Config& c) { return c.MEMBER; }                                                  \
  }
#define RT_TEXT(KEY, MEMBER, DESCRIPTION)                                                           \
  Field {                                                                                         \
    KEY, "string, may be empty", DESCRIPTION,                                                     \
        [](Config& c, const std::string& v, bool) { c.MEMBER = v; },                              \
        [](const Config& c) { return c.MEMBER; }                                                  \
  }

/// Every key, in the order of config/ringtrace.yaml. The defaults are Config's member
/// initializers: parsing starts from them, and config_reference() reads them back through `get`.
const std::vector<Field>& fields() {
  constexpr long long kMaxMs = 24LL * 3600 * 1000;
  static const std::vector<Field> table = {
      Field{"message.naming", "one of: service, mc",
            "timestamp names: `service` (`service1_timestamp`…) or `mc` (`MC1_timestamp`…), in JSON and database",
            [](Config& c, const std::string& v, bool env) {
              auto naming = parse_naming(v);
              if (!naming) throw ConfigError(origin("message.naming", env) + ": expected 'service' or 'mc', got '" + v + "'");
              c.message.naming = *naming;
            },
            [](const Config& c) { return std::string(to_string(c.message.naming)); }},
      RT_INT("interaction.duration_seconds", interaction.duration_seconds, 1, 7 * 24 * 3600,
             "session length: how long a session generates messages"),
      RT_INT("interaction.window", interaction.window, 1, 65536,
             "messages in flight at once; 1 = strictly one at a time"),
      RT_INT("interaction.drain_timeout_ms", interaction.drain_timeout_ms, 0, kMaxMs,
             "wait for in-flight messages after generation stops"),
      RT_INT("interaction.progress_interval_ms", interaction.progress_interval_ms, 0, kMaxMs,
             "progress line on stdout while a session runs; 0 = off"),
      RT_INT("interaction.resend_timeout_ms", interaction.resend_timeout_ms, 0, kMaxMs,
             "a message not back after this is resent (at most once: given up and counted lost); 0 = never"),
      Field{"logging.level", "one of: trace, debug, info, warn, error, off", "how much each service logs",
            [](Config& c, const std::string& v, bool env) {
              static const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
              if (std::find(levels.begin(), levels.end(), v) == levels.end()) {
                throw ConfigError(origin("logging.level", env) + ": expected trace, debug, info, warn, error or off, got '" + v + "'");
              }
              c.logging.level = v;
            },
            [](const Config& c) { return c.logging.level; }},
      RT_STR("logging.directory", logging.directory, "each service writes `<directory>/<service>.log`"),
      RT_STR("ms1.listen_address", ms1.listen_address, "bind address of MS1's HTTP API, an IP address"),
      RT_INT("ms1.port", ms1.port, 1, 65535, "port of MS1's HTTP API"),
      RT_STR("ms1.ms2_url", ms1.ms2_url, "MS2's WebSocket (`ws://host:port/path`), where MS1 sends the messages"),
      RT_INT("ms1.max_body_bytes", ms1.max_body_bytes, 64, 64LL * 1024 * 1024, "larger request bodies get 413"),
      RT_INT("ms1.request_timeout_ms", ms1.request_timeout_ms, 1, kMaxMs,
             "a request must arrive within this; idle or slow clients are dropped"),
      RT_INT("ms1.reconnect_initial_ms", ms1.reconnect_initial_ms, 1, kMaxMs, "first WebSocket reconnect delay"),
      RT_INT("ms1.reconnect_max_ms", ms1.reconnect_max_ms, 1, kMaxMs,
             "WebSocket reconnect backoff ceiling; at least `ms1.reconnect_initial_ms`"),
      RT_INT("ms1.ws_idle_timeout_ms", ms1.ws_idle_timeout_ms, 10, kMaxMs,
             "MS2 silent this long drops the WebSocket link (a ping goes out at half of it), then MS1 reconnects"),
      RT_INT("ms1.clock_probe_interval_ms", ms1.clock_probe_interval_ms, 0, kMaxMs,
             "how often MS1 measures MS2's clock offset with a ping (4 in a burst after each handshake); 0 = off"),
      RT_STR("ms2.listen_address", ms2.listen_address,
             "bind address of MS2's WebSocket server and admin port, an IP address"),
      RT_INT("ms2.port", ms2.port, 1, 65535, "port of MS2's WebSocket server"),
      Field{"ms2.path", "string starting with /", "the WebSocket upgrade path",
            [](Config& c, const std::string& v, bool env) {
              if (v.empty() || v.front() != '/') throw ConfigError(origin("ms2.path", env) + ": must start with '/'");
              c.ms2.path = v;
            },
            [](const Config& c) { return c.ms2.path; }},
      RT_INT("ms2.max_frame_bytes", ms2.max_frame_bytes, 64, 64LL * 1024 * 1024,
             "larger frames close the connection (1009)"),
      RT_INT("ms2.admin_port", ms2.admin_port, 0, 65535, "`/metrics` and `/healthz` on `ms2.listen_address`; 0 = off"),
      RT_INT("ms2.ws_idle_timeout_ms", ms2.ws_idle_timeout_ms, 10, kMaxMs,
             "MS1 silent this long ends its WebSocket session (a ping goes out at half of it)"),
      RT_STR("ms3.listen_address", ms3.listen_address, "bind address of MS3's admin port, an IP address"),
      RT_INT("ms3.admin_port", ms3.admin_port, 0, 65535, "MS3's `/metrics` and `/healthz`; 0 = off"),
      RT_STR("ms3.store_url", ms3.store_url, "where MS3 posts the messages (`http://host:port/path`)"),
      RT_INT("ms3.request_timeout_ms", ms3.request_timeout_ms, 1, kMaxMs, "per POST"),
      RT_INT("ms3.retry_initial_ms", ms3.retry_initial_ms, 1, kMaxMs,
             "first retry delay when MS1 is down or answers 5xx"),
      RT_INT("ms3.retry_max_ms", ms3.retry_max_ms, 1, kMaxMs,
             "retry backoff ceiling; at least `ms3.retry_initial_ms`"),
      RT_INT("ms3.max_in_flight", ms3.max_in_flight, 1, 4096,
             "POST /store requests pipelined on the kept-alive connection to MS1 at most: whatever Kafka has "
             "fetched goes out in one round trip, MS1 writes it in one transaction, and one offset commit covers "
             "it; 1 sends one at a time"),
      RT_TEXT("ms3.group_instance_id", ms3.group_instance_id,
              "Kafka static membership: a restarted MS3 takes its partitions back at once; empty = dynamic"),
      RT_STR("kafka.brokers", kafka.brokers, "bootstrap servers"),
      RT_STR("kafka.topic", kafka.topic, "the topic; created by MS2 if absent"),
      RT_INT("kafka.partitions", kafka.partitions, 1, 10000, "partitions of the topic MS2 creates"),
      RT_INT("kafka.replication_factor", kafka.replication_factor, 1, 16,
             "replicas of each partition of the topic MS2 creates; above 1 its min.insync.replicas is one fewer"),
      Field{"kafka.key", "one of: session, message",
            "the record key, which picks the partition: session keeps a session on one partition, in order; "
            "message spreads the messages over every partition",
            [](Config& c, const std::string& v, bool env) {
              if (v != "session" && v != "message") {
                throw ConfigError(origin("kafka.key", env) + ": expected 'session' or 'message', got '" + v + "'");
              }
              c.kafka.key = v;
            },
            [](const Config& c) { return c.kafka.key; }},
      RT_INT("kafka.linger_ms", kafka.linger_ms, 0, 1000,
             "how long MS2 holds a record for others to join its produce request: 0 sends at once, for the "
             "window-1 cycle; a few ms gives wide windows larger batches (docs/performance.md)"),
      RT_STR("kafka.group_id", kafka.group_id, "MS3's consumer group"),
      RT_INT("kafka.startup_timeout_ms", kafka.startup_timeout_ms, 0, kMaxMs,
             "how long MS2 waits for the broker at startup"),
      Field{"kafka.delivery", "one of: at-most-once, at-least-once, exactly-once",
            "the guarantee MS1, MS2 and MS3 give together",
            [](Config& c, const std::string& v, bool env) {
              auto delivery = parse_delivery(v);
              if (!delivery) {
                throw ConfigError(origin("kafka.delivery", env) +
                                  ": expected 'at-most-once', 'at-least-once' or 'exactly-once', got '" + v + "'");
              }
              c.kafka.delivery = *delivery;
            },
            [](const Config& c) { return std::string(to_string(c.kafka.delivery)); }},
      RT_INT("kafka.session_timeout_ms", kafka.session_timeout_ms, 1000, 3600 * 1000,
             "a consumer silent this long loses its partitions"),
      RT_INT("kafka.socket_timeout_ms", kafka.socket_timeout_ms, KafkaConfig::kFetchWaitMaxMs + 1000, 300000,
             "a broker that leaves a request unanswered this long is dropped and reconnected (librdkafka socket.timeout.ms); bounds detecting a silent broker"),
      RT_INT("kafka.connect_timeout_ms", kafka.connect_timeout_ms, 1000, kMaxMs,
             "a broker connection not set up within this is dropped and retried (librdkafka socket.connection.setup.timeout.ms)"),
      Field{"database.driver", "one of: postgresql, mariadb", "the database MS1 writes to",
            [](Config& c, const std::string& v, bool env) {
              if (v != "postgresql" && v != "mariadb") {
                throw ConfigError(origin("database.driver", env) + ": expected 'postgresql' or 'mariadb', got '" + v + "'");
              }
              c.database.driver = v;
            },
            [](const Config& c) { return c.database.driver; }},
      RT_STR("database.host", database.host, "database server address"),
      RT_INT("database.port", database.port, 0, 65535, "database server port; 0 means the driver's (5432 or 3306)"),
      RT_STR("database.name", database.name, "database name"),
      RT_STR("database.user", database.user, "login"),
      RT_TEXT("database.password", database.password, "password"),
      RT_INT("database.batch_max", database.batch_max, 1, 100000, "rows per transaction at most"),
      RT_INT("database.connect_timeout_s", database.connect_timeout_s, 1, 3600, "per connection attempt"),
      RT_INT("database.io_timeout_ms", database.io_timeout_ms, 1000, 3600 * 1000,
             "a server whose TCP stack stops answering (data unacknowledged, keepalives unanswered) is dropped after this; slow queries are never cut"),
      Field{"tracing.enabled", "boolean", "spans to Jaeger; false costs nothing: no spans, no exporter thread",
            [](Config& c, const std::string& v, bool env) { c.tracing.enabled = parse_bool("tracing.enabled", v, env); },
            [](const Config& c) { return std::string(c.tracing.enabled ? "true" : "false"); }},
      RT_STR("tracing.endpoint", tracing.endpoint, "OTLP/HTTP traces endpoint (`http://host:port/path`)"),
      Field{"tracing.protocol", "one of: http/protobuf, http/json",
            "body of each POST; http/json is readable, but ~6x the exporting CPU here and more work in Jaeger",
            [](Config& c, const std::string& v, bool env) {
              auto protocol = parse_tracing_protocol(v);
              if (!protocol) {
                throw ConfigError(origin("tracing.protocol", env) +
                                  ": expected 'http/protobuf' or 'http/json', got '" + v + "'");
              }
              c.tracing.protocol = *protocol;
            },
            [](const Config& c) { return std::string(to_string(c.tracing.protocol)); }},
      RT_INT("tracing.queue_max", tracing.queue_max, 1, 10000000,
             "finished spans waiting for export at most; beyond this they are dropped and counted"),
      RT_INT("tracing.batch_max", tracing.batch_max, 1, 100000, "spans per POST at most"),
      RT_INT("tracing.flush_interval_ms", tracing.flush_interval_ms, 1, kMaxMs, "a partial batch is sent after this"),
      RT_INT("tracing.timeout_ms", tracing.timeout_ms, 1, kMaxMs, "per POST"),
      Field{"security.token", "string of visible ASCII, may be empty",
            "shared secret of the internal hops: MS1 requires it on `POST /store`, MS2 on the WebSocket upgrade, MS3 "
            "and MS1 send it; empty = open (warned at startup); never printed",
            [](Config& c, const std::string& v, bool env) {
              check_token(v, origin("security.token", env));
              c.security.token = v;
            },
            [](const Config& c) { return c.security.token.empty() ? std::string() : std::string("(hidden)"); }},
      RT_TEXT("security.token_file", security.token_file,
              "a file holding `security.token`, read at startup (trailing whitespace stripped); not with `security.token`"),
  };
  return table;
}

#undef RT_INT
#undef RT_STR
#undef RT_TEXT

/// Keys a service once read and reads no more, with what took their place. Still accepted, so a
/// file or an environment written for an older release keeps starting; warned about and ignored.
/// Not in fields(): they are neither documented nor shipped as keys.
const std::vector<Field>& retired_fields() {
  static const std::vector<Field> retired = [] {
    std::vector<Field> out;
    for (const auto& [key, instead] :
         {std::pair<std::string, std::string>{"tracing.query_url",
                                              "the gateway relays the traces to Jaeger (RINGTRACE_GATEWAY_JAEGER)"},
          std::pair<std::string, std::string>{"tracing.ui_url",
                                              "the gateway names the Jaeger UI (RINGTRACE_GATEWAY_JAEGER_UI)"}}) {
      out.push_back(Field{key, "retired", instead,
                          // Copies by name: clang before 16 cannot capture a structured binding.
                          [key = key, instead = instead](Config&, const std::string&, bool env) {
                            spdlog::warn("{}: no longer read, ignored: {}", origin(key, env), instead);
                          },
                          [](const Config&) { return std::string(); }});
    }
    return out;
  }();
  return retired;
}

const Field& field(const std::string& key, bool from_env) {
  const auto& table = fields();
  const auto it = std::find_if(table.begin(), table.end(), [&](const Field& f) { return f.key == key; });
  if (it == table.end()) {
    const auto& retired = retired_fields();
    const auto old = std::find_if(retired.begin(), retired.end(), [&](const Field& f) { return f.key == key; });
    if (old != retired.end()) return *old;
    throw ConfigError(from_env ? env_name(key) + ": no such configuration key '" + key + "'"
                               : "unknown configuration key '" + key + "'");
  }
  return *it;
}

/// The one rule for an empty value: its type says so ("…, may be empty").
bool accepts_empty(const Field& f) { return f.type.find("may be empty") != std::string::npos; }

void apply(Config& config, const std::string& key, const std::string& value, bool from_env) {
  field(key, from_env).set(config, value, from_env);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return text;
}

}  // namespace

std::string_view to_string(TracingProtocol protocol) {
  switch (protocol) {
    case TracingProtocol::kHttpProtobuf: return "http/protobuf";
    case TracingProtocol::kHttpJson: return "http/json";
  }
  return "unknown";
}

std::optional<TracingProtocol> parse_tracing_protocol(std::string_view text) {
  for (const auto p : {TracingProtocol::kHttpProtobuf, TracingProtocol::kHttpJson}) {
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

std::string env_name(const std::string& key) {
  std::string name(kEnvPrefix);
  for (const char ch : key) {
    if (ch == '.') {
      name += "__";
    } else {
      name += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
  }
  return name;
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& f : fields()) keys.push_back(f.key);
  return keys;
}

std::vector<ConfigEntry> config_reference() {
  const Config defaults;
  std::vector<ConfigEntry> entries;
  for (const auto& f : fields()) entries.push_back({f.key, f.type, f.get(defaults), f.description});
  return entries;
}

std::string config_value(const Config& config, const std::string& key) { return field(key, false).get(config); }

Environment process_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view item(*entry);
    if (item.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
  return env;
}

namespace {

/// The file's `section: {key: value}` pairs, applied over the defaults.
void apply_yaml(Config& config, const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError("configuration is not valid YAML: " + std::string(e.what()));
  }
  if (!root || root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError("configuration must be a mapping of sections");
  for (const auto& section : root) {
    const auto section_name = section.first.as<std::string>();
    if (section.second.IsNull()) continue;
    if (!section.second.IsMap()) throw ConfigError("section '" + section_name + "' must be a mapping");
    for (const auto& entry : section.second) {
      const auto key = section_name + "." + entry.first.as<std::string>();
      if (!entry.second.IsScalar()) throw ConfigError(key + ": expected a single value");
      apply(config, key, entry.second.Scalar(), false);
    }
  }
}

/// Every RINGTRACE__<SECTION>__<KEY> variable, applied over the file.
void apply_environment(Config& config, const Environment& env) {
  for (const auto& [name, value] : env) {
    if (name.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    const auto rest = name.substr(kEnvPrefix.size());
    const auto sep = rest.find("__");
    if (sep == std::string::npos || sep == 0 || sep + 2 >= rest.size()) {
      throw ConfigError(name + ": expected RINGTRACE__<SECTION>__<KEY>");
    }
    const auto key = lower(rest.substr(0, sep)) + "." + lower(rest.substr(sep + 2));
    // Compose hands an unset variable over as an empty one: for a key that cannot be empty, empty
    // means "not set here", so the file's value stands.
    if (value.empty() && !accepts_empty(field(key, true))) continue;
    apply(config, key, value, true);
  }
}

/// Values that come from other values: the token from its file, the database's default port.
void resolve(Config& config, const std::function<std::string(const std::string&)>& where) {
  if (!config.security.token_file.empty()) {
    if (!config.security.token.empty()) throw ConfigError("security.token and security.token_file: set one, not both");
    config.security.token = read_token_file(config.security.token_file, where("security.token_file"));
  }
  if (config.database.port == 0) config.database.port = config.database.driver == "mariadb" ? 3306 : 5432;
}

/// What no single key can check: ranges between keys, URLs and bind addresses. Checked here, not
/// where they are first used, so that --check-config catches every value a service would refuse.
void validate(const Config& config, const std::function<std::string(const std::string&)>& where) {
  if (config.ms1.reconnect_max_ms < config.ms1.reconnect_initial_ms) {
    throw ConfigError("ms1.reconnect_max_ms: must be >= ms1.reconnect_initial_ms");
  }
  if (config.ms3.retry_max_ms < config.ms3.retry_initial_ms) {
    throw ConfigError("ms3.retry_max_ms: must be >= ms3.retry_initial_ms");
  }
  parse_endpoint(config.ms1.ms2_url, "ws", where("ms1.ms2_url"));
  parse_endpoint(config.ms3.store_url, "http", where("ms3.store_url"));
  parse_endpoint(config.tracing.endpoint, "http", where("tracing.endpoint"));
  for (const auto& [key, address] : {std::pair{"ms1.listen_address", &config.ms1.listen_address},
                                     std::pair{"ms2.listen_address", &config.ms2.listen_address},
                                     std::pair{"ms3.listen_address", &config.ms3.listen_address}}) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(*address, ec);
    if (ec) throw ConfigError(where(key) + ": expected an IP address to bind, got '" + *address + "'");
  }
}

}  // namespace

Config parse_config(const std::string& yaml_text, const Environment& env) {
  Config config;
  apply_yaml(config, yaml_text);
  apply_environment(config, env);
  const auto where = [&env](const std::string& key) { return origin(key, env.count(env_name(key)) > 0); };
  resolve(config, where);
  validate(config, where);
  return config;
}

Config load_config(const std::string& path, const Environment& env) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read configuration file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_config(text.str(), env);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine line;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      line.help = true;
    } else if (arg == "--check-config") {
      line.check_config = true;
    } else if (arg == "--config") {
      if (i + 1 >= argc) throw ConfigError("--config needs a path");
      line.config_path = argv[++i];
    } else if (arg.substr(0, 9) == "--config=") {
      line.config_path = std::string(arg.substr(9));
    } else {
      throw ConfigError("unknown argument '" + std::string(arg) + "' (usage: [--config PATH] [--check-config])");
    }
  }
  return line;
}

}  // namespace ringtrace::common
