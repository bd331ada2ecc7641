#include "ringtrace/ms1/ring/message_store.hpp"

#include "ringtrace/ms1/ring/mariadb_store.hpp"
#include "ringtrace/ms1/ring/postgres_store.hpp"

namespace ringtrace::ms1 {

std::string trace_id_text(const common::tracing::TraceId& trace_id) {
  if (trace_id == common::tracing::TraceId{}) return {};
  return common::tracing::to_hex(trace_id.data(), trace_id.size());
}

bool is_peer_clock(common::Hop clock) { return clock == common::Hop::kMs2 || clock == common::Hop::kMs3; }

std::unique_ptr<MessageStore> make_store(const common::DatabaseConfig& config, common::Naming naming) {
  if (config.driver == "postgresql") return std::make_unique<PostgresStore>(config, naming);
  if (config.driver == "mariadb") return std::make_unique<MariaDbStore>(config, naming);
  throw common::ConfigError("database.driver: unsupported driver '" + config.driver + "'");
}

}  // namespace ringtrace::ms1
