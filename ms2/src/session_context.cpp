#include "ringtrace/ms2/session_context.hpp"

namespace ringtrace::ms2 {

WsSettings WsSettings::from(const common::Config& config) {
  return {config.ms2, config.message.naming, config.kafka, config.security.token};
}

}  // namespace ringtrace::ms2
