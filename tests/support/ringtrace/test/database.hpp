#pragma once
/// @file
/// The one database inspector of the C++ tests: which real server to use, found the way the
/// services find it (RINGTRACE__DATABASE__HOST/PORT/USER/PASSWORD/NAME over the native loopback
/// defaults), and a plain client connection to look at what was written.

#include <libpq-fe.h>
#include <mysql.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ringtrace/common/config.hpp"

namespace ringtrace::test {

/// One database server under test, configured from defaults + RINGTRACE__DATABASE__* (host etc.).
struct Backend {
  std::string driver;  ///< postgresql | mariadb

  /// Connection settings for this driver (the port follows the driver unless the environment sets it).
  [[nodiscard]] common::DatabaseConfig config() const {
    auto env = common::process_environment();
    env["RINGTRACE__DATABASE__DRIVER"] = driver;
    return common::parse_config("", env).database;
  }
  /// The infra.sh component that runs this server.
  [[nodiscard]] std::string component() const { return driver == "postgresql" ? "postgres" : "mariadb"; }
  /// Quotes an identifier the way this server wants it.
  [[nodiscard]] std::string quote(std::string_view name) const {
    return driver == "postgresql" ? "\"" + std::string(name) + "\"" : "`" + std::string(name) + "`";
  }
  /// SQL naming the schema our tables live in.
  [[nodiscard]] std::string schema() const { return driver == "postgresql" ? "current_schema()" : "DATABASE()"; }
  /// What information_schema calls a microsecond timestamp column, as type(precision).
  [[nodiscard]] std::string timestamp_type() const {
    return driver == "postgresql" ? "timestamp with time zone(6)" : "datetime(6)";
  }
  /// SQL rendering `column` in the codec's form (2026-11-21T10:15:30.123456Z).
  [[nodiscard]] std::string as_text(const std::string& column) const {
    return driver == "postgresql" ? "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                                  : "DATE_FORMAT(" + column + ", '%Y-%m-%dT%H:%i:%s.%fZ')";
  }
};

/// A plain client connection, for reading back what the store wrote.
class Inspector {
 public:
  /// Connects to `backend`; throws std::runtime_error when it cannot.
  explicit Inspector(const Backend& backend) : driver_(backend.driver) {
    const auto c = backend.config();
    if (driver_ == "postgresql") {
      const auto conninfo = "host=" + c.host + " port=" + std::to_string(c.port) + " dbname=" + c.name +
                            " user=" + c.user + " password=" + c.password;
      pg_ = PQconnectdb(conninfo.c_str());
      if (PQstatus(pg_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(pg_));
    } else {
      my_ = mysql_init(nullptr);
      if (mysql_real_connect(my_, c.host.c_str(), c.user.c_str(), c.password.c_str(), c.name.c_str(), c.port, nullptr,
                             0) == nullptr) {
        throw std::runtime_error(mysql_error(my_));
      }
    }
  }
  /// Closes the connection.
  ~Inspector() {
    if (pg_ != nullptr) PQfinish(pg_);
    if (my_ != nullptr) mysql_close(my_);
  }
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  /// First column of the first row as text; "NULL" for SQL NULL, "" for no row, "ERROR: …" on failure.
  std::string scalar(const std::string& sql) {
    if (pg_ != nullptr) {
      PGresult* r = PQexec(pg_, sql.c_str());
      std::string out;
      if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        out = std::string("ERROR: ") + PQresultErrorMessage(r);
      } else if (PQntuples(r) > 0) {
        out = PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0);
      }
      PQclear(r);
      return out;
    }
    if (mysql_query(my_, sql.c_str()) != 0) return std::string("ERROR: ") + mysql_error(my_);
    MYSQL_RES* result = mysql_store_result(my_);
    std::string out;
    if (result != nullptr) {
      if (MYSQL_ROW row = mysql_fetch_row(result)) out = row[0] != nullptr ? row[0] : "NULL";
      mysql_free_result(result);
    }
    return out;
  }

 private:
  std::string driver_;
  PGconn* pg_ = nullptr;
  MYSQL* my_ = nullptr;
};

}  // namespace ringtrace::test
