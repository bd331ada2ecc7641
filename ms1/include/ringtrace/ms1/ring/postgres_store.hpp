#pragma once
/// @file
/// MessageStore over libpq.

#include <string>

#include "ringtrace/ms1/db/postgres.hpp"
#include "ringtrace/ms1/ring/message_store.hpp"

namespace ringtrace::ms1 {

/// PostgreSQL store: one connection, prepared statements, batches as arrays through `unnest`
/// so a batch of any size is one round trip and one prepared plan.
class PostgresStore final : public MessageStore {
 public:
  /// Nothing connects until connect().
  PostgresStore(common::DatabaseConfig config, common::Naming naming);

  void connect() override;
  std::int64_t begin_session(const SessionSettings& settings, common::Timestamp started_at,
                             std::span<const ClockRecord> clocks) override;
  std::vector<bool> store(std::span<const StoreRow> rows) override;
  void finish_session(const SessionSummary& summary) override;
  std::vector<std::int64_t> close_interrupted_sessions() override;
  std::optional<std::int64_t> id_bound(std::int64_t session_id) override;

 private:
  /// Runs a statement, throwing StoreUnavailable when the connection is gone, StoreError otherwise.
  PgResult check(PGresult* raw, const char* what);
  void exec(const std::string& sql, const char* what);
  /// Ends a transaction a refused statement left open (a connection still up, so still in it).
  void rollback();
  /// Runs `write` (which returns the session's id), then upserts the peer clocks among `clocks`
  /// for that session, all in one transaction; without any, `write` runs alone.
  template <typename Write>
  void with_clocks(std::span<const ClockRecord> clocks, Write&& write);

  common::DatabaseConfig config_;
  common::Naming naming_;
  PgConn conn_;
};

}  // namespace ringtrace::ms1
