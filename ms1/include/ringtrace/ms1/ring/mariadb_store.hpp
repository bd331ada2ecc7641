#pragma once
/// @file
/// MessageStore over MariaDB Connector/C.

#include <mysql.h>

#include <memory>
#include <string>

#include "ringtrace/ms1/db/mariadb.hpp"
#include "ringtrace/ms1/ring/message_store.hpp"

namespace ringtrace::ms1 {

/// MariaDB store: one connection, server-side prepared statements, a batch per transaction.
/// Each row of a batch is its own execution so its affected-row count tells new from duplicate
/// (`ON DUPLICATE KEY UPDATE id = id` changes nothing and reports 0).
class MariaDbStore final : public MessageStore {
 public:
  /// Nothing connects until connect().
  MariaDbStore(common::DatabaseConfig config, common::Naming naming);
  ~MariaDbStore() override;

  void connect() override;
  std::int64_t begin_session(const SessionSettings& settings, common::Timestamp started_at,
                             std::span<const ClockRecord> clocks) override;
  std::vector<bool> store(std::span<const StoreRow> rows) override;
  void finish_session(const SessionSummary& summary) override;
  std::vector<std::int64_t> close_interrupted_sessions() override;
  std::optional<std::int64_t> id_bound(std::int64_t session_id) override;

 private:
  struct StmtCloser {
    void operator()(MYSQL_STMT* stmt) const { mysql_stmt_close(stmt); }
  };
  using Stmt = std::unique_ptr<MYSQL_STMT, StmtCloser>;

  /// Throws StoreUnavailable (and drops the connection) when the server is gone, StoreError otherwise.
  [[noreturn]] void raise(unsigned error, const std::string& message, const char* what);
  void query(const std::string& sql, const char* what);
  Stmt prepare(const std::string& sql, const char* what);
  void execute(MYSQL_STMT* stmt, MYSQL_BIND* params, const char* what);
  void disconnect();
  /// Runs `write` (which returns the session's id), then upserts the peer clocks among `clocks`
  /// for that session, all in one transaction; without any, `write` runs alone.
  template <typename Write>
  void with_clocks(std::span<const ClockRecord> clocks, Write&& write);

  common::DatabaseConfig config_;
  common::Naming naming_;
  MYSQL* conn_ = nullptr;
  Stmt insert_;
  Stmt begin_;
  Stmt finish_;
  Stmt bound_;
  Stmt clock_;
};

}  // namespace ringtrace::ms1
