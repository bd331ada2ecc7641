#pragma once
/// @file
/// What MS1 does with one POST /store body before the database sees it, kept apart from HTTP
/// and the database so it is tested alone.

#include <string>
#include <string_view>

#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms1 {

/// The fate of a /store request body; only kOk goes on to the database, the rest are refused.
enum class StoreRequestOutcome {
  kOk,                    ///< decoded, storable and stamped
  kUnsupportedMediaType,  ///< a Content-Type other than JSON (415)
  kMalformed,             ///< not a message: bad JSON, wrong types, other naming (400)
  kUnstorable,            ///< a stamp before the year 1000, which the databases cannot hold (422)
  kBadStamps,             ///< its stamps show it skipped a hop or was already stored (422)
};

/// A processed /store body: the stamped message, or why there is none.
struct StoreRequest {
  StoreRequestOutcome outcome = StoreRequestOutcome::kOk;  ///< what to do with it
  common::Message message;  ///< stamped with `now` (kOk); as decoded for kUnstorable and kBadStamps
  std::string reason;       ///< why it was refused (empty on kOk), as the error body says it
};

/// True for `application/json`, in any case, with or without parameters such as charset.
bool is_json_media_type(std::string_view type);

/// Checks the media type (empty is accepted), decodes `body` in `naming`, refuses stamps the
/// database cannot store and stamps the end hop with `now`; `now` is a parameter so tests need no clock.
StoreRequest process_store(std::string_view content_type, std::string_view body, common::Naming naming,
                           common::Timestamp now);

}  // namespace ringtrace::ms1
