#pragma once
/// @file
/// What MS1 does with one POST /store body before the database sees it, kept apart from HTTP
/// and the database so it is tested alone.

#include <string_view>

#include "ringtrace/common/hop_step.hpp"
#include "ringtrace/common/message.hpp"
#include "ringtrace/common/timestamp.hpp"

namespace ringtrace::ms1 {

/// True for `application/json`, in any case, with or without parameters such as charset.
bool is_json_media_type(std::string_view type);

/// Refuses another media type than JSON (empty is accepted: kUnsupportedMediaType → 415), then
/// runs the end hop's step (common::run_hop at Hop::kEnd) with a check of its own: stamps the
/// database cannot store (before the year 1000) are kUnstorable (422). Only a kOk result goes on
/// to the database; `now` is a parameter so tests need no clock.
common::HopResult process_store(std::string_view content_type, std::string_view body, common::Naming naming,
                           common::Timestamp now);

}  // namespace ringtrace::ms1
