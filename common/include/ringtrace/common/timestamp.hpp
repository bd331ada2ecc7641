#pragma once
/// @file
/// Wall-clock timestamps as carried by messages: RFC 3339, UTC, microseconds.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ringtrace::common {

/// A point on the UTC wall clock with the microsecond resolution every hop records.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// Current wall-clock time in microseconds, never earlier than a previous call in this process
/// (hops run on different hosts, so a steady clock would not compare across them).
Timestamp now_utc();

/// Formats as `2026-11-21T10:15:30.123456Z` (27 characters), the one form the codec emits and accepts.
std::string format_timestamp(Timestamp ts);

/// Appends the formatted timestamp to `out` without allocating a temporary string.
void append_timestamp(std::string& out, Timestamp ts);

/// Parses exactly the form `format_timestamp` produces; nullopt on any deviation (strictness keeps rows comparable).
std::optional<Timestamp> parse_timestamp(std::string_view text);

}  // namespace ringtrace::common
