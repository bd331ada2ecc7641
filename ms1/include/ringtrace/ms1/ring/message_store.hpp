#pragma once
/// @file
/// The storage interface MS1 writes through, so the rest of MS1 does not know which database it has.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/tracing.hpp"
#include "ringtrace/ms1/db/errors.hpp"
#include "ringtrace/ms1/ring/session_types.hpp"

namespace ringtrace::ms1 {

/// One row to insert: the message and the trace its /store request ran in, so a report can lead
/// from a slow message to its spans.
struct StoreRow {
  common::Message message;                 ///< the stamped message
  common::tracing::TraceId trace_id{};     ///< all zero: stored untraced (NULL)
};

/// The trace_id column's text of `trace_id`: 32 lowercase hex, or "" for all zero (stored as NULL).
std::string trace_id_text(const common::tracing::TraceId& trace_id);

/// Whether `clock` is a peer's (kMs2, kMs3): the clocks table holds no record of MS1's own stamps.
bool is_peer_clock(common::Hop clock);

/// A synchronous, single-connection store. Only the writer thread calls it.
class MessageStore {
 public:
  virtual ~MessageStore() = default;

  /// (Re)connects and creates the schema if absent; throws StoreUnavailable or StoreError.
  virtual void connect() = 0;

  /// Records a new session and returns its id, unique across restarts (a database sequence),
  /// with the peer clocks' estimates at its start (`clocks`, written in the same transaction, so
  /// a session killed before it finishes keeps them); records of MS1's own stamps are left out.
  virtual std::int64_t begin_session(const SessionSettings& settings, common::Timestamp started_at,
                                     std::span<const ClockRecord> clocks) = 0;

  /// Inserts `rows` in one transaction; `inserted[i]` tells whether row i was new
  /// (false: the same (session_id, id) was already stored, and it was left untouched).
  virtual std::vector<bool> store(std::span<const StoreRow> rows) = 0;

  /// Writes the outcome of a session into its row, and its best clock estimates
  /// (`summary.clocks`) over those of its start, in one transaction.
  virtual void finish_session(const SessionSummary& summary) = 0;

  /// Marks every session that never finished (MS1 was killed, or lost the database while
  /// stopping) as `interrupted`, with the rows it has so far as `stored`; returns their ids.
  /// Only MS1's first connection calls it: the sessions left open are then no one's.
  virtual std::vector<std::int64_t> close_interrupted_sessions() = 0;

  /// The highest id session `session_id` can have sent, from its closed row: `sent` once it
  /// finished; `stored + window_size` (as recorded at close) once closed as interrupted, since no
  /// more than a window of its messages was ever unstored. nullopt for no row or a row still open.
  /// Lets MS1 refuse messages it never generated; a closed row's bound never changes.
  virtual std::optional<std::int64_t> id_bound(std::int64_t session_id) = 0;
};

/// Builds the store `config.driver` names; throws ConfigError for an unknown driver.
std::unique_ptr<MessageStore> make_store(const common::DatabaseConfig& config, common::Naming naming);

}  // namespace ringtrace::ms1
