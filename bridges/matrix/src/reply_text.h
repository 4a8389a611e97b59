// What text of an agent's reply frame is shown in the room. Agents answer in several
// shapes (WIRE.md §2: deltas {"delta":"..."}, finals {"result":{...}}, bridges
// {"text":...}); this picks the human-readable text out of them.
// THREAD: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace oaio::matrix {

// Text of a final reply payload: a JSON string itself, else the first string found
// under text / content / message / answer / output / reply / result / echo / data
// (searched recursively in that order), else the compact JSON. Empty payload -> "".
std::string final_text(std::string_view payload_json);

// Text a delta payload adds: "delta" or "text" (string), else "".
std::string delta_text(std::string_view payload_json);

// A short one-line message for an agent error (ErrorPayload {code, message} or text),
// at most ~300 characters.
std::string error_text(std::string_view code, std::string_view message);

}  // namespace oaio::matrix
