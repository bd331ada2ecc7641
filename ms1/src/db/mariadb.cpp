#include "ringtrace/ms1/db/mariadb.hpp"

#include <errmsg.h>
#include <mysqld_error.h>

#include "ringtrace/ms1/db/errors.hpp"
#include "ringtrace/ms1/db/tcp_liveness.hpp"

namespace ringtrace::ms1 {

bool mariadb_connection_lost(unsigned error) {
  switch (error) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
      return true;
    default:
      return false;
  }
}

MYSQL* connect_mariadb(const common::DatabaseConfig& config) {
  MYSQL* conn = mysql_init(nullptr);
  if (conn == nullptr) throw StoreUnavailable("cannot connect to MariaDB: out of memory");
  const unsigned timeout = static_cast<unsigned>(config.connect_timeout_s);
  mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect(conn, config.host.c_str(), config.user.c_str(), config.password.c_str(), config.name.c_str(),
                         config.port, nullptr, 0) == nullptr ||
      mysql_query(conn, "SET time_zone = '+00:00'") != 0) {
    std::string error = "cannot connect to MariaDB at " + config.host + ":" + std::to_string(config.port) + "/" +
                        config.name + ": " + mysql_error(conn);
    mysql_close(conn);
    throw StoreUnavailable(error);
  }
  // A silent server is dropped after database.io_timeout_ms (tcp_liveness.hpp). Connector/C has no
  // option for these, so they go on its socket, which it keeps for the connection's life. No read
  // timeout: it would cut slow queries too.
  if (const int fd = static_cast<int>(mysql_get_socket(conn)); is_tcp_socket(fd)) {
    try {
      apply_tcp_liveness(fd, tcp_liveness(config.io_timeout_ms));
    } catch (const std::exception& e) {
      mysql_close(conn);
      throw StoreUnavailable("MariaDB at " + config.host + ":" + std::to_string(config.port) + ": " + e.what());
    }
  }
  return conn;
}

std::string mariadb_identifier(std::string_view name) { return "`" + std::string(name) + "`"; }

}  // namespace ringtrace::ms1
