#pragma once
/// @file
/// MariaDB connections as the ring's store and the reports both open them: the connection
/// parameters, which errors mean the connection is gone, and identifier quoting.

#include <mysql.h>

#include <string>
#include <string_view>

#include "ringtrace/common/config.hpp"

namespace ringtrace::ms1 {

/// Whether MariaDB error `error` means the server went away or refused the connection, so
/// reconnecting may help (StoreUnavailable rather than StoreError).
bool mariadb_connection_lost(unsigned error);

/// Opens a connection to `config` (utf8mb4, UTC, a silent server dropped after
/// `database.io_timeout_ms`: tcp_liveness.hpp), owned by the caller (mysql_close); throws
/// StoreUnavailable naming the server when it cannot.
MYSQL* connect_mariadb(const common::DatabaseConfig& config);

/// `name` as a MariaDB identifier (backquotes).
std::string mariadb_identifier(std::string_view name);

}  // namespace ringtrace::ms1
