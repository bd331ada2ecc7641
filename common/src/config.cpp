#include "ringtrace/common/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include <boost/asio/ip/address.hpp>
#include <yaml-cpp/yaml.h>

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

/// One accepted key: how to store a textual value into the config.
struct Field {
  std::string key;
  std::function<void(Config&, const std::string&, bool)> set;
};

#define RT_INT(KEY, MEMBER, MIN, MAX)                                                        \
  Field {                                                                                    \
    KEY, [](Config& c, const std::string& v, bool env) {                                     \
      c.MEMBER = parse_int<decltype(c.MEMBER)>(KEY, v, env, MIN, MAX);                       \
    }                                                                                        \
  }
#define RT_STR(KEY, MEMBER) \
  Field { KEY, [](Config& c, const std::string& v, bool env) { c.MEMBER = parse_nonempty(KEY, v, env); } }

const std::vector<Field>& fields() {
  constexpr long long kMaxMs = 24LL * 3600 * 1000;
  static const std::vector<Field> table = {
      Field{"message.naming",
            [](Config& c, const std::string& v, bool env) {
              auto naming = parse_naming(v);
              if (!naming) throw ConfigError(origin("message.naming", env) + ": expected 'service' or 'mc', got '" + v + "'");
              c.message.naming = *naming;
            }},
      RT_INT("interaction.duration_seconds", interaction.duration_seconds, 1, 7 * 24 * 3600),
      RT_INT("interaction.window", interaction.window, 1, 65536),
      RT_INT("interaction.drain_timeout_ms", interaction.drain_timeout_ms, 0, kMaxMs),
      RT_INT("interaction.progress_interval_ms", interaction.progress_interval_ms, 0, kMaxMs),
      RT_INT("interaction.resend_timeout_ms", interaction.resend_timeout_ms, 0, kMaxMs),
      Field{"logging.level",
            [](Config& c, const std::string& v, bool env) {
              static const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
              if (std::find(levels.begin(), levels.end(), v) == levels.end()) {
                throw ConfigError(origin("logging.level", env) + ": expected trace, debug, info, warn, error or off, got '" + v + "'");
              }
              c.logging.level = v;
            }},
      RT_STR("logging.directory", logging.directory),
      RT_STR("ms1.listen_address", ms1.listen_address),
      RT_INT("ms1.port", ms1.port, 1, 65535),
      RT_STR("ms1.ms2_url", ms1.ms2_url),
      RT_INT("ms1.max_body_bytes", ms1.max_body_bytes, 64, 64LL * 1024 * 1024),
      RT_INT("ms1.request_timeout_ms", ms1.request_timeout_ms, 1, kMaxMs),
      RT_INT("ms1.reconnect_initial_ms", ms1.reconnect_initial_ms, 1, kMaxMs),
      RT_INT("ms1.reconnect_max_ms", ms1.reconnect_max_ms, 1, kMaxMs),
      RT_STR("ms2.listen_address", ms2.listen_address),
      RT_INT("ms2.port", ms2.port, 1, 65535),
      Field{"ms2.path",
            [](Config& c, const std::string& v, bool env) {
              if (v.empty() || v.front() != '/') throw ConfigError(origin("ms2.path", env) + ": must start with '/'");
              c.ms2.path = v;
            }},
      RT_INT("ms2.max_frame_bytes", ms2.max_frame_bytes, 64, 64LL * 1024 * 1024),
      RT_INT("ms2.admin_port", ms2.admin_port, 0, 65535),
      RT_STR("ms3.listen_address", ms3.listen_address),
      RT_INT("ms3.admin_port", ms3.admin_port, 0, 65535),
      RT_STR("ms3.store_url", ms3.store_url),
      RT_INT("ms3.request_timeout_ms", ms3.request_timeout_ms, 1, kMaxMs),
      RT_INT("ms3.retry_initial_ms", ms3.retry_initial_ms, 1, kMaxMs),
      RT_INT("ms3.retry_max_ms", ms3.retry_max_ms, 1, kMaxMs),
      RT_INT("ms3.max_in_flight", ms3.max_in_flight, 1, 4096),
      Field{"ms3.group_instance_id", [](Config& c, const std::string& v, bool) { c.ms3.group_instance_id = v; }},
      RT_STR("kafka.brokers", kafka.brokers),
      RT_STR("kafka.topic", kafka.topic),
      RT_INT("kafka.partitions", kafka.partitions, 1, 10000),
      RT_STR("kafka.group_id", kafka.group_id),
      RT_INT("kafka.startup_timeout_ms", kafka.startup_timeout_ms, 0, kMaxMs),
      Field{"kafka.delivery",
            [](Config& c, const std::string& v, bool env) {
              auto delivery = parse_delivery(v);
              if (!delivery) {
                throw ConfigError(origin("kafka.delivery", env) +
                                  ": expected 'at-most-once', 'at-least-once' or 'exactly-once', got '" + v + "'");
              }
              c.kafka.delivery = *delivery;
            }},
      RT_INT("kafka.session_timeout_ms", kafka.session_timeout_ms, 1000, 3600 * 1000),
      Field{"database.driver",
            [](Config& c, const std::string& v, bool env) {
              if (v != "postgresql" && v != "mariadb") {
                throw ConfigError(origin("database.driver", env) + ": expected 'postgresql' or 'mariadb', got '" + v + "'");
              }
              c.database.driver = v;
            }},
      RT_STR("database.host", database.host),
      RT_INT("database.port", database.port, 0, 65535),
      RT_STR("database.name", database.name),
      RT_STR("database.user", database.user),
      Field{"database.password", [](Config& c, const std::string& v, bool) { c.database.password = v; }},
      RT_INT("database.batch_max", database.batch_max, 1, 100000),
      Field{"tracing.enabled",
            [](Config& c, const std::string& v, bool env) { c.tracing.enabled = parse_bool("tracing.enabled", v, env); }},
      RT_STR("tracing.endpoint", tracing.endpoint),
      Field{"tracing.protocol",
            [](Config& c, const std::string& v, bool env) {
              auto protocol = parse_tracing_protocol(v);
              if (!protocol) {
                throw ConfigError(origin("tracing.protocol", env) +
                                  ": expected 'http/protobuf' or 'http/json', got '" + v + "'");
              }
              c.tracing.protocol = *protocol;
            }},
      RT_INT("tracing.queue_max", tracing.queue_max, 1, 10000000),
      RT_INT("tracing.batch_max", tracing.batch_max, 1, 100000),
      RT_INT("tracing.flush_interval_ms", tracing.flush_interval_ms, 1, kMaxMs),
      RT_INT("tracing.timeout_ms", tracing.timeout_ms, 1, kMaxMs),
      RT_INT("database.connect_timeout_s", database.connect_timeout_s, 1, 3600),
  };
  return table;
}

#undef RT_INT
#undef RT_STR

void apply(Config& config, const std::string& key, const std::string& value, bool from_env) {
  const auto& table = fields();
  const auto it = std::find_if(table.begin(), table.end(), [&](const Field& f) { return f.key == key; });
  if (it == table.end()) {
    throw ConfigError(from_env ? env_name(key) + ": no such configuration key '" + key + "'"
                               : "unknown configuration key '" + key + "'");
  }
  it->set(config, value, from_env);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return text;
}

}  // namespace

std::string_view to_string(Delivery delivery) {
  switch (delivery) {
    case Delivery::kAtMostOnce: return "at-most-once";
    case Delivery::kAtLeastOnce: return "at-least-once";
    case Delivery::kExactlyOnce: return "exactly-once";
  }
  return "unknown";
}

std::optional<Delivery> parse_delivery(std::string_view text) {
  for (const auto d : {Delivery::kAtMostOnce, Delivery::kAtLeastOnce, Delivery::kExactlyOnce}) {
    if (text == to_string(d)) return d;
  }
  return std::nullopt;
}

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

Config parse_config(const std::string& yaml_text, const Environment& env) {
  Config config;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError("configuration is not valid YAML: " + std::string(e.what()));
  }
  if (root && !root.IsNull()) {
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
  for (const auto& [name, value] : env) {
    if (name.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    const auto rest = name.substr(kEnvPrefix.size());
    const auto sep = rest.find("__");
    if (sep == std::string::npos || sep == 0 || sep + 2 >= rest.size()) {
      throw ConfigError(name + ": expected RINGTRACE__<SECTION>__<KEY>");
    }
    apply(config, lower(rest.substr(0, sep)) + "." + lower(rest.substr(sep + 2)), value, true);
  }
  if (config.database.port == 0) config.database.port = config.database.driver == "mariadb" ? 3306 : 5432;
  if (config.ms1.reconnect_max_ms < config.ms1.reconnect_initial_ms) {
    throw ConfigError("ms1.reconnect_max_ms: must be >= ms1.reconnect_initial_ms");
  }
  if (config.ms3.retry_max_ms < config.ms3.retry_initial_ms) {
    throw ConfigError("ms3.retry_max_ms: must be >= ms3.retry_initial_ms");
  }
  // URLs and bind addresses are checked here, not where they are first used, so that
  // --check-config catches every value a service would refuse.
  const auto where = [&env](const std::string& key) { return origin(key, env.count(env_name(key)) > 0); };
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
