// The text of a fresh event id and of a timestamp, written into the caller's buffer.
// The encoder appends them to the envelope it is writing without making a string of
// their own (two allocations per envelope less); new_event_id() and format_timestamp()
// are these, returned as strings.
//
// Thread-safety: as new_event_id() and format_timestamp() (envelope.h).
#pragma once

#include <cstddef>

#include "oaio/envelope.h"

namespace oaio::detail {

inline constexpr std::size_t kEventIdSize = 36;        // a UUIDv7, 8-4-4-4-12 hex digits
inline constexpr std::size_t kTimestampMaxSize = 30;   // "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"

void write_new_event_id(char (&out)[kEventIdSize]);
// Returns the length written.
std::size_t write_timestamp(SysNanos t, char (&out)[kTimestampMaxSize]);
std::size_t write_now_timestamp(char (&out)[kTimestampMaxSize]);

}  // namespace oaio::detail
