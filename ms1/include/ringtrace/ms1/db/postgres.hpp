#pragma once
/// @file
/// PostgreSQL connections as the ring's store and the reports both open them: owned handles,
/// the connection parameters, and identifier quoting.

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>

#include "ringtrace/common/config.hpp"

namespace ringtrace::ms1 {

/// Closes a libpq connection.
struct PgConnCloser {
  /// PQfinish.
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
/// An owned libpq connection.
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;

/// Frees a libpq result.
struct PgResultCloser {
  /// PQclear.
  void operator()(PGresult* result) const { PQclear(result); }
};
/// An owned libpq result.
using PgResult = std::unique_ptr<PGresult, PgResultCloser>;

/// Opens a connection to `config` as `application_name` with server `options` (`-c key=value …`),
/// a silent server dropped after `database.io_timeout_ms` (tcp_liveness.hpp); throws
/// StoreUnavailable naming the server when it cannot.
PgConn connect_postgres(const common::DatabaseConfig& config, const char* application_name, const std::string& options);

/// `name` as a PostgreSQL identifier (double quotes keep the MC naming's capitals).
std::string postgres_identifier(std::string_view name);

/// The error text of a failed statement: `what`, then the server's message without its line break.
std::string postgres_error(const char* what, const PGresult* result, const PGconn* conn);

}  // namespace ringtrace::ms1
