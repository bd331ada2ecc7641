#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <gtest/gtest.h>

#include "ringtrace/common/config.hpp"

using namespace ringtrace::common;

namespace {

/// Runs `f`, expecting a ConfigError whose text names `key`.
template <typename F>
void expect_error_naming(F f, const std::string& key) {
  try {
    f();
    FAIL() << "no ConfigError; expected one naming " << key;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << "error was: " << e.what();
  }
}

}  // namespace

TEST(Config, DefaultsWhenEmpty) {
  const auto c = parse_config("", {});
  EXPECT_EQ(c.interaction.duration_seconds, 10);
  EXPECT_EQ(c.interaction.window, 1);
  EXPECT_EQ(c.message.naming, Naming::kService);
  EXPECT_EQ(c.ms1.port, 8080);
  EXPECT_EQ(c.kafka.topic, "ringtrace.messages");
  EXPECT_EQ(c.database.driver, "postgresql");
  EXPECT_EQ(c.database.port, 5432);
}

TEST(Config, DatabasePortFollowsTheDriverUnlessSet) {
  EXPECT_EQ(parse_config("database: {driver: mariadb}", {}).database.port, 3306);
  EXPECT_EQ(parse_config("", {{"RINGTRACE__DATABASE__DRIVER", "mariadb"}}).database.port, 3306);
  EXPECT_EQ(parse_config("database: {driver: mariadb, port: 3307}", {}).database.port, 3307);
  EXPECT_EQ(parse_config("database: {driver: postgresql, port: 0}", {}).database.port, 5432);
}

TEST(Config, ReadsEverySection) {
  const auto c = parse_config(R"(
message: {naming: mc}
interaction: {duration_seconds: 20, window: 8, drain_timeout_ms: 100}
ms1: {port: 9090, ms2_url: "ws://h:1/x"}
ms2: {port: 9091, path: /socket}
ms3: {store_url: "http://h:2/store", retry_initial_ms: 5, retry_max_ms: 10}
kafka: {brokers: "b:1", topic: t, group_id: g, partitions: 3}
database: {host: db, port: 6543, name: n, user: u, password: "", batch_max: 7}
logging: {level: debug, directory: /tmp/x}
)",
                              {});
  EXPECT_EQ(c.message.naming, Naming::kMc);
  EXPECT_EQ(c.interaction.duration_seconds, 20);
  EXPECT_EQ(c.interaction.window, 8);
  EXPECT_EQ(c.interaction.drain_timeout_ms, 100);
  EXPECT_EQ(c.ms1.port, 9090);
  EXPECT_EQ(c.ms1.ms2_url, "ws://h:1/x");
  EXPECT_EQ(c.ms2.path, "/socket");
  EXPECT_EQ(c.ms3.retry_max_ms, 10);
  EXPECT_EQ(c.kafka.partitions, 3);
  EXPECT_EQ(c.database.port, 6543);
  EXPECT_EQ(c.database.password, "");
  EXPECT_EQ(c.database.batch_max, 7);
  EXPECT_EQ(c.logging.level, "debug");
}

TEST(Config, ReplicationAndRecordKey) {
  const auto d = parse_config("", {});
  EXPECT_EQ(d.kafka.replication_factor, 1);
  EXPECT_EQ(d.kafka.key, "session");
  const auto c = parse_config("kafka: {replication_factor: 3, key: message}", {});
  EXPECT_EQ(c.kafka.replication_factor, 3);
  EXPECT_EQ(c.kafka.key, "message");
  EXPECT_EQ(parse_config("", {{"RINGTRACE__KAFKA__KEY", "message"}}).kafka.key, "message");
  expect_error_naming([] { parse_config("kafka: {replication_factor: 0}", {}); }, "kafka.replication_factor");
  EXPECT_EQ(d.kafka.linger_ms, 0);
  EXPECT_EQ(parse_config("kafka: {linger_ms: 5}", {}).kafka.linger_ms, 5);
  EXPECT_EQ(parse_config("", {{"RINGTRACE__KAFKA__LINGER_MS", "2"}}).kafka.linger_ms, 2);
  expect_error_naming([] { parse_config("kafka: {linger_ms: 1001}", {}); }, "kafka.linger_ms");
  expect_error_naming([] { parse_config("kafka: {linger_ms: 0.5}", {}); }, "kafka.linger_ms");
  expect_error_naming([] { parse_config("kafka: {key: partition}", {}); }, "kafka.key");
  expect_error_naming([] { parse_config("", {{"RINGTRACE__KAFKA__KEY", "id"}}); }, "RINGTRACE__KAFKA__KEY");
}

TEST(Config, DeliveryGuarantee) {
  EXPECT_EQ(parse_config("", {}).kafka.delivery, Delivery::kAtLeastOnce);
  EXPECT_EQ(parse_config("kafka: {delivery: at-most-once}", {}).kafka.delivery, Delivery::kAtMostOnce);
  EXPECT_EQ(parse_config("", {{"RINGTRACE__KAFKA__DELIVERY", "exactly-once"}}).kafka.delivery, Delivery::kExactlyOnce);
  for (const auto d : {Delivery::kAtMostOnce, Delivery::kAtLeastOnce, Delivery::kExactlyOnce}) {
    EXPECT_EQ(parse_delivery(to_string(d)), d);
  }
  expect_error_naming([] { parse_config("kafka: {delivery: best-effort}", {}); }, "kafka.delivery");
  expect_error_naming([] { parse_config("", {{"RINGTRACE__KAFKA__DELIVERY", "once"}}); }, "RINGTRACE__KAFKA__DELIVERY");
  expect_error_naming([] { parse_config("kafka: {session_timeout_ms: 10}", {}); }, "kafka.session_timeout_ms");
  EXPECT_EQ(parse_config("ms3: {group_instance_id: ''}", {}).ms3.group_instance_id, "");
  EXPECT_EQ(parse_config("ms3: {group_instance_id: ms3-1}", {}).ms3.group_instance_id, "ms3-1");
  EXPECT_EQ(parse_config("", {}).interaction.resend_timeout_ms, 10000);
  EXPECT_EQ(parse_config("interaction: {resend_timeout_ms: 0}", {}).interaction.resend_timeout_ms, 0);
}

TEST(Config, Tracing) {
  const auto c = parse_config("tracing: {enabled: false, endpoint: 'http://j:4318/v1/traces', batch_max: 10}", {});
  EXPECT_FALSE(c.tracing.enabled);
  EXPECT_EQ(c.tracing.endpoint, "http://j:4318/v1/traces");
  EXPECT_EQ(c.tracing.batch_max, 10);
  EXPECT_TRUE(parse_config("", {}).tracing.enabled);
  EXPECT_TRUE(parse_config("", {{"RINGTRACE__TRACING__ENABLED", "on"}}).tracing.enabled);
  expect_error_naming([] { parse_config("tracing: {enabled: maybe}", {}); }, "tracing.enabled");
}

TEST(Config, TracingProtocol) {
  EXPECT_EQ(parse_config("", {}).tracing.protocol, TracingProtocol::kHttpProtobuf);
  EXPECT_EQ(parse_config("tracing: {protocol: http/json}", {}).tracing.protocol, TracingProtocol::kHttpJson);
  EXPECT_EQ(parse_config("tracing: {protocol: http/json}", {{"RINGTRACE__TRACING__PROTOCOL", "http/protobuf"}})
                .tracing.protocol,
            TracingProtocol::kHttpProtobuf);
  for (const auto p : {TracingProtocol::kHttpProtobuf, TracingProtocol::kHttpJson}) {
    EXPECT_EQ(parse_tracing_protocol(to_string(p)), p);
  }
  // grpc is another OTEL_EXPORTER_OTLP_PROTOCOL value, but not one this exporter speaks.
  for (const char* bad : {"grpc", "protobuf", "json", "HTTP/JSON", ""}) {
    expect_error_naming([bad] { parse_config(std::string("tracing: {protocol: '") + bad + "'}", {}); },
                        "tracing.protocol");
  }
  expect_error_naming([] { parse_config("", {{"RINGTRACE__TRACING__PROTOCOL", "grpc"}}); },
                      "RINGTRACE__TRACING__PROTOCOL");
  EXPECT_EQ(load_config(RINGTRACE_SOURCE_DIR "/config/ringtrace.yaml", {}).tracing.protocol,
            TracingProtocol::kHttpProtobuf);
}

TEST(Config, EnvironmentOverridesFile) {
  const auto c = parse_config("interaction: {duration_seconds: 20}\n",
                              {{"RINGTRACE__INTERACTION__DURATION_SECONDS", "3"},
                               {"RINGTRACE__MESSAGE__NAMING", "mc"},
                               {"RINGTRACE__DATABASE__HOST", "postgres"},
                               {"OTHER_VARIABLE", "ignored"}});
  EXPECT_EQ(c.interaction.duration_seconds, 3);
  EXPECT_EQ(c.message.naming, Naming::kMc);
  EXPECT_EQ(c.database.host, "postgres");
}

TEST(Config, EmptyVariableLeavesTheFileValueUnlessTheKeyMayBeEmpty) {
  // Compose passes `${RINGTRACE_DURATION_SECONDS:-}` as an empty variable when the user set none.
  const auto c = parse_config("interaction: {duration_seconds: 3, window: 4}\ndatabase: {password: secret}\n",
                              {{"RINGTRACE__INTERACTION__DURATION_SECONDS", ""},
                               {"RINGTRACE__INTERACTION__WINDOW", ""},
                               {"RINGTRACE__KAFKA__TOPIC", ""},
                               {"RINGTRACE__DATABASE__PASSWORD", ""}});
  EXPECT_EQ(c.interaction.duration_seconds, 3);
  EXPECT_EQ(c.interaction.window, 4);
  EXPECT_EQ(c.kafka.topic, Config{}.kafka.topic);
  EXPECT_EQ(c.database.password, "");  // "may be empty": empty is a value
  expect_error_naming([] { parse_config("", {{"RINGTRACE__INTERACTION__DURATON", ""}}); },
                      "RINGTRACE__INTERACTION__DURATON");
}

TEST(Config, EveryKeyIsReachableFromTheEnvironment) {
  EXPECT_EQ(env_name("interaction.duration_seconds"), "RINGTRACE__INTERACTION__DURATION_SECONDS");
  const auto keys = config_keys();
  EXPECT_GE(keys.size(), 30u);
  for (const auto& key : keys) {
    const auto name = env_name(key);
    try {
      parse_config("", {{name, "x"}});  // accepted by string keys
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find("no such configuration key"), std::string::npos) << what;
      EXPECT_NE(what.find(name), std::string::npos) << what;
    }
  }
}

TEST(Config, BadValuesNameTheKey) {
  expect_error_naming([] { parse_config("interaction: {duration_seconds: abc}", {}); }, "interaction.duration_seconds");
  expect_error_naming([] { parse_config("interaction: {duration_seconds: 0}", {}); }, "interaction.duration_seconds");
  expect_error_naming([] { parse_config("interaction: {window: 2.5}", {}); }, "interaction.window");
  expect_error_naming([] { parse_config("ms1: {port: 70000}", {}); }, "ms1.port");
  expect_error_naming([] { parse_config("message: {naming: camel}", {}); }, "message.naming");
  expect_error_naming([] { parse_config("database: {driver: oracle}", {}); }, "database.driver");
  expect_error_naming([] { parse_config("database: {port: -1}", {}); }, "database.port");
  expect_error_naming([] { parse_config("logging: {level: loud}", {}); }, "logging.level");
  expect_error_naming([] { parse_config("kafka: {topic: ''}", {}); }, "kafka.topic");
  expect_error_naming([] { parse_config("ms2: {path: ws}", {}); }, "ms2.path");
  expect_error_naming([] { parse_config("ms3: {retry_initial_ms: 10, retry_max_ms: 5}", {}); }, "ms3.retry_max_ms");
  expect_error_naming([] { parse_config("ms3: {max_in_flight: 0}", {}); }, "ms3.max_in_flight");
  expect_error_naming([] { parse_config("ms1: {reconnect_initial_ms: 10, reconnect_max_ms: 5}", {}); },
                      "ms1.reconnect_max_ms");
}

TEST(Config, UnknownKeysAreErrors) {
  expect_error_naming([] { parse_config("interaction: {duraton_seconds: 5}", {}); }, "interaction.duraton_seconds");
  expect_error_naming([] { parse_config("nosuch: {a: 1}", {}); }, "nosuch.a");
  expect_error_naming([] { parse_config("", {{"RINGTRACE__INTERACTION__DURATON", "5"}}); },
                      "RINGTRACE__INTERACTION__DURATON");
  expect_error_naming([] { parse_config("", {{"RINGTRACE__WINDOW", "5"}}); }, "RINGTRACE__WINDOW");
}

TEST(Config, BadEnvironmentValueNamesTheVariable) {
  expect_error_naming([] { parse_config("", {{"RINGTRACE__INTERACTION__WINDOW", "many"}}); },
                      "RINGTRACE__INTERACTION__WINDOW");
}

TEST(Config, ShapeErrors) {
  expect_error_naming([] { parse_config("interaction: [1, 2]", {}); }, "interaction");
  expect_error_naming([] { parse_config("interaction: {window: [1]}", {}); }, "interaction.window");
  EXPECT_THROW(parse_config("- a\n- b\n", {}), ConfigError);
  EXPECT_THROW(parse_config("a: [", {}), ConfigError);
}

TEST(Config, LoadsFileAndReportsMissingFile) {
  const std::string path = ::testing::TempDir() + "ringtrace_test_config.yaml";
  {
    std::ofstream out(path);
    out << "interaction:\n  window: 4\n";
  }
  EXPECT_EQ(load_config(path, {}).interaction.window, 4);
  expect_error_naming([] { load_config("/nonexistent/ringtrace.yaml", {}); }, "/nonexistent/ringtrace.yaml");
}

TEST(Config, TheShippedConfigLoads) {
  const auto c = load_config(RINGTRACE_SOURCE_DIR "/config/ringtrace.yaml", {});
  EXPECT_EQ(c.ms1.port, 8080);
  EXPECT_EQ(c.ms2.port, 8081);
}

TEST(Config, TheSeedVariantsLoad) {
  const auto seed000 = load_config(RINGTRACE_SOURCE_DIR "/config/variant-postgresql-mc.yaml", {});
  EXPECT_EQ(seed000.database.driver, "postgresql");
  EXPECT_EQ(seed000.database.port, 5432);
  EXPECT_EQ(seed000.message.naming, Naming::kMc);
  const auto seed001 = load_config(RINGTRACE_SOURCE_DIR "/config/variant-mariadb-service.yaml", {});
  EXPECT_EQ(seed001.database.driver, "mariadb");
  EXPECT_EQ(seed001.database.port, 3306);
  EXPECT_EQ(seed001.message.naming, Naming::kService);
}

// run.sh's --db overrides only database.driver: a shipped file that pinned database.port would
// send the other driver to the first one's port (MariaDB dialled on 5432).
TEST(Config, EveryShippedFileFollowsTheDriverChosenByTheEnvironment) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(RINGTRACE_SOURCE_DIR "/config")) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    for (const auto& [driver, port] : {std::pair{"postgresql", 5432}, std::pair{"mariadb", 3306}}) {
      const auto c = load_config(entry.path().string(), {{"RINGTRACE__DATABASE__DRIVER", driver}});
      EXPECT_EQ(c.database.port, port) << entry.path().filename() << " with RINGTRACE__DATABASE__DRIVER=" << driver;
    }
  }
  EXPECT_GE(files, 3u) << "config/ringtrace.yaml and the two seed variants";
}

TEST(Config, CommandLine) {
  char prog[] = "ms1";
  char flag[] = "--config";
  char path[] = "x.yaml";
  char* argv1[] = {prog, flag, path};
  auto line = parse_command_line(3, argv1);
  EXPECT_EQ(line.config_path, "x.yaml");
  EXPECT_FALSE(line.help);
  EXPECT_FALSE(line.check_config);
  char* argv0[] = {prog};
  EXPECT_EQ(parse_command_line(1, argv0).config_path, "config/ringtrace.yaml");
  char eq[] = "--config=y.yaml";
  char check[] = "--check-config";
  char* argv2[] = {prog, eq, check};
  line = parse_command_line(3, argv2);
  EXPECT_EQ(line.config_path, "y.yaml");
  EXPECT_TRUE(line.check_config);
  char h[] = "--help";
  char* argv3[] = {prog, h};
  EXPECT_TRUE(parse_command_line(2, argv3).help);
  char bogus[] = "--bogus";
  char* argv4[] = {prog, bogus};
  EXPECT_THROW(parse_command_line(2, argv4), ConfigError);
  char* argv5[] = {prog, flag};
  EXPECT_THROW(parse_command_line(2, argv5), ConfigError);
}

TEST(Config, AdminPorts) {
  const auto config = parse_config("ms2: {admin_port: 0}\nms3: {admin_port: 9000, listen_address: 0.0.0.0}\n", {});
  EXPECT_EQ(config.ms2.admin_port, 0);
  EXPECT_EQ(config.ms3.admin_port, 9000);
  EXPECT_EQ(config.ms3.listen_address, "0.0.0.0");
  EXPECT_EQ(parse_config("", {}).ms2.admin_port, 8091);
  EXPECT_THROW(parse_config("", {{"RINGTRACE__MS3__ADMIN_PORT", "70000"}}), ConfigError);
}

TEST(Config, UrlsAndBindAddressesAreCheckedAtLoad) {
  const auto message_of = [](const Environment& env) {
    try {
      parse_config("", env);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message_of({{"RINGTRACE__MS1__MS2_URL", "http://h:1/ws"}}).find("ms1.ms2_url"), std::string::npos);
  EXPECT_NE(message_of({{"RINGTRACE__MS3__STORE_URL", "ftp://h/store"}}).find("ms3.store_url"), std::string::npos);
  EXPECT_NE(message_of({{"RINGTRACE__TRACING__ENDPOINT", "jaeger:4318"}}).find("tracing.endpoint"), std::string::npos);
  EXPECT_NE(message_of({{"RINGTRACE__MS2__LISTEN_ADDRESS", "ms2"}}).find("ms2.listen_address"), std::string::npos);
  EXPECT_EQ(message_of({{"RINGTRACE__MS1__LISTEN_ADDRESS", "::"}}), "accepted");
}

TEST(Config, RetiredJaegerKeysAreAcceptedAndIgnored) {
  // MS1 no longer relays the traces (the gateway does): a file or an environment that still sets
  // the relay's keys starts as before, whatever they hold, and the keys are no longer documented.
  EXPECT_NO_THROW(parse_config("tracing: {query_url: 'jaeger:16686', ui_url: 'javascript:alert(1)'}", {}));
  EXPECT_NO_THROW(parse_config("", {{"RINGTRACE__TRACING__QUERY_URL", "http://jaeger:16686"},
                                    {"RINGTRACE__TRACING__UI_URL", "http://j /x"}}));
  for (const auto& entry : ringtrace::common::config_reference()) {
    EXPECT_NE(entry.key, "tracing.query_url");
    EXPECT_NE(entry.key, "tracing.ui_url");
  }
  expect_error_naming([] { parse_config("tracing: {query_urls: ''}", {}); }, "tracing.query_urls");
}

TEST(Config, DetectionTimeoutsDefaultAndRange) {
  const auto c = parse_config("", {});
  EXPECT_EQ(c.kafka.socket_timeout_ms, 10000);
  EXPECT_EQ(c.kafka.connect_timeout_ms, 5000);
  EXPECT_EQ(c.database.io_timeout_ms, 5000);
  const auto set = parse_config("kafka: {socket_timeout_ms: 1010, connect_timeout_ms: 1000}\ndatabase: {io_timeout_ms: 1000}", {});
  EXPECT_EQ(set.kafka.socket_timeout_ms, KafkaConfig::kFetchWaitMaxMs + 1000) << "the least librdkafka takes without a warning";
  EXPECT_EQ(set.kafka.connect_timeout_ms, 1000);
  EXPECT_EQ(set.database.io_timeout_ms, 1000);
  // librdkafka wants socket.timeout.ms at least 1 s above MS3's fetch.wait.max.ms, and at most 300 s.
  expect_error_naming([] { parse_config("kafka: {socket_timeout_ms: 1009}", {}); }, "kafka.socket_timeout_ms");
  expect_error_naming([] { parse_config("kafka: {socket_timeout_ms: 300001}", {}); }, "kafka.socket_timeout_ms");
  expect_error_naming([] { parse_config("kafka: {connect_timeout_ms: 999}", {}); }, "kafka.connect_timeout_ms");
  // Whole seconds of keepalive: below 1 s there is nothing to set; above an hour the kernel's limits near.
  expect_error_naming([] { parse_config("database: {io_timeout_ms: 999}", {}); }, "database.io_timeout_ms");
  expect_error_naming([] { parse_config("database: {io_timeout_ms: 3600001}", {}); }, "database.io_timeout_ms");
  expect_error_naming([] { parse_config("", {{"RINGTRACE__DATABASE__IO_TIMEOUT_MS", "10"}}); },
                      "RINGTRACE__DATABASE__IO_TIMEOUT_MS");
}

TEST(ConfigReference, CoversEveryKeyInOrder) {
  const auto reference = config_reference();
  const auto keys = config_keys();
  ASSERT_EQ(reference.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(reference[i].key, keys[i]);
    EXPECT_FALSE(reference[i].type.empty()) << keys[i];
    EXPECT_FALSE(reference[i].description.empty()) << keys[i];
  }
  EXPECT_THROW(config_value(Config{}, "interaction.nonsense"), ConfigError);
}

TEST(ConfigReference, DefaultsAreWhatParsingStartsFrom) {
  const auto defaults = parse_config("", {});
  for (const auto& entry : config_reference()) {
    // Written out in a file, the documented default must load and change nothing.
    const auto dot = entry.key.find('.');
    std::string quoted;
    for (const char ch : entry.default_value) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
    const auto yaml = entry.key.substr(0, dot) + ":\n  " + entry.key.substr(dot + 1) + ": '" + quoted + "'\n";
    const auto c = parse_config(yaml, {});
    for (const auto& key : config_keys()) EXPECT_EQ(config_value(c, key), config_value(defaults, key)) << entry.key;
  }
  EXPECT_EQ(config_value(Config{}, "database.port"), "0");  // resolved to the driver's port when loaded
  EXPECT_EQ(config_value(defaults, "database.port"), "5432");
  EXPECT_EQ(config_value(defaults, "kafka.delivery"), "at-least-once");
  EXPECT_EQ(config_value(defaults, "tracing.enabled"), "true");
}

TEST(ConfigReference, TypesSayWhatTheLoaderAccepts) {
  for (const auto& entry : config_reference()) {
    const auto name = env_name(entry.key);
    const auto error = [&](const std::string& value) -> std::string {
      try {
        parse_config("", {{name, value}});
        return "";
      } catch (const ConfigError& e) {
        return e.what();
      }
    };
    if (entry.type.rfind("one of: ", 0) == 0) {
      std::istringstream choices(entry.type.substr(8));
      for (std::string choice; std::getline(choices, choice, ',');) {
        choice.erase(0, choice.find_first_not_of(' '));
        EXPECT_EQ(error(choice), "") << entry.key << " = " << choice;
      }
      EXPECT_NE(error("none-of-these"), "") << entry.key;
    } else if (entry.type.rfind("integer in [", 0) == 0) {
      long long min = 0, max = 0;
      ASSERT_EQ(std::sscanf(entry.type.c_str(), "integer in [%lld, %lld]", &min, &max), 2) << entry.type;
      for (const auto ok : {min, max}) {
        EXPECT_EQ(error(std::to_string(ok)).find("out of range"), std::string::npos) << entry.key << " = " << ok;
      }
      for (const auto bad : {min - 1, max + 1}) {
        EXPECT_NE(error(std::to_string(bad)).find("out of range"), std::string::npos) << entry.key << " = " << bad;
      }
    } else if (entry.type == "boolean") {
      EXPECT_EQ(error("false"), "") << entry.key;
      EXPECT_NE(error("maybe"), "") << entry.key;
    } else if (entry.type == "string") {
      // An empty variable counts as not set; an empty value in the file is refused.
      EXPECT_EQ(error(""), "") << entry.key;
      const auto dot = entry.key.find('.');
      const auto yaml = entry.key.substr(0, dot) + ":\n  " + entry.key.substr(dot + 1) + ": ''\n";
      try {
        parse_config(yaml, {});
        ADD_FAILURE() << entry.key << ": an empty value in the file was accepted";
      } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("must not be empty"), std::string::npos) << entry.key;
      }
    } else if (entry.type == "string, may be empty") {
      EXPECT_EQ(error(""), "") << entry.key;
    } else if (entry.type == "string of visible ASCII, may be empty") {
      EXPECT_EQ(error(""), "") << entry.key;
      EXPECT_EQ(error("Visible~ASCII_0-9+/="), "") << entry.key;
      EXPECT_NE(error("with space").find("visible ASCII"), std::string::npos) << entry.key;
      EXPECT_NE(error("caf\xc3\xa9").find("visible ASCII"), std::string::npos) << entry.key;
    } else {
      EXPECT_EQ(entry.type, "string starting with /") << entry.key;
      EXPECT_NE(error("ws").find("must start with '/'"), std::string::npos) << entry.key;
    }
  }
}
