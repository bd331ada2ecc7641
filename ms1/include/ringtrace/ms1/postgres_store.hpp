#pragma once
/// @file
/// MessageStore over libpq.

#include <libpq-fe.h>

#include <memory>
#include <string>

#include "ringtrace/ms1/message_store.hpp"

namespace ringtrace::ms1 {

/// Closes a libpq connection.
struct PgConnCloser {
  /// PQfinish.
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
/// An owned libpq connection.
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;

/// Opens a connection to `config` as `application_name` with server `options` (`-c key=value …`);
/// throws StoreUnavailable naming the server when it cannot. The writer and the reports share it.
PgConn connect_postgres(const common::DatabaseConfig& config, const char* application_name, const std::string& options);

/// PostgreSQL store: one connection, prepared statements, batches as arrays through `unnest`
/// so a batch of any size is one round trip and one prepared plan.
class PostgresStore final : public MessageStore {
 public:
  /// Nothing connects until connect().
  PostgresStore(common::DatabaseConfig config, common::Naming naming);

  void connect() override;
  std::int64_t begin_session(const SessionSettings& settings, common::Timestamp started_at) override;
  std::vector<bool> store(std::span<const StoreRow> rows) override;
  void finish_session(const SessionSummary& summary) override;
  std::vector<std::int64_t> close_interrupted_sessions() override;
  std::optional<std::int64_t> id_bound(std::int64_t session_id) override;

 private:
  struct ResultCloser {
    void operator()(PGresult* res) const { PQclear(res); }
  };
  using Result = std::unique_ptr<PGresult, ResultCloser>;

  /// Runs a statement, throwing StoreUnavailable when the connection is gone, StoreError otherwise.
  Result check(PGresult* raw, const char* what);
  void exec(const std::string& sql, const char* what);

  common::DatabaseConfig config_;
  common::Naming naming_;
  PgConn conn_;
};

}  // namespace ringtrace::ms1
