#include "ringtrace/ms1/db/postgres.hpp"

#include "ringtrace/ms1/db/errors.hpp"
#include "ringtrace/ms1/db/tcp_liveness.hpp"

namespace ringtrace::ms1 {

PgConn connect_postgres(const common::DatabaseConfig& config, const char* application_name, const std::string& options) {
  const std::string port = std::to_string(config.port);
  const std::string timeout = std::to_string(config.connect_timeout_s);
  // A silent server is dropped after database.io_timeout_ms (tcp_liveness.hpp); libpq applies these to
  // TCP connections only, as it should.
  const auto liveness = tcp_liveness(config.io_timeout_ms);
  const std::string idle = std::to_string(liveness.keepalive_idle_s);
  const std::string interval = std::to_string(liveness.keepalive_interval_s);
  const std::string count = std::to_string(liveness.keepalive_count);
  const std::string user_timeout = std::to_string(liveness.user_timeout_ms);
  const char* keys[] = {"host", "port", "dbname", "user", "password", "connect_timeout", "application_name",
                        "options", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout", nullptr};
  const char* values[] = {config.host.c_str(), port.c_str(),    config.name.c_str(), config.user.c_str(),
                          config.password.c_str(), timeout.c_str(), application_name, options.c_str(),
                          "1", idle.c_str(), interval.c_str(), count.c_str(), user_timeout.c_str(), nullptr};
  PgConn conn(PQconnectdbParams(keys, values, 0));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn.get()) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    throw StoreUnavailable("cannot connect to PostgreSQL at " + config.host + ":" + port + "/" + config.name + ": " +
                           message);
  }
  return conn;
}

std::string postgres_identifier(std::string_view name) { return "\"" + std::string(name) + "\""; }

std::string postgres_error(const char* what, const PGresult* result, const PGconn* conn) {
  std::string message = what;
  message += ": ";
  message += result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace ringtrace::ms1
