// Writing JSON strings exactly as Go's encoding/json does by default, so the bytes the
// C++ encoder produces compare equal to the Go SDK's (WIRE.md §1.1, §1.6).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace oaio::detail {

// What to do with bytes that are not valid UTF-8.
enum class BadUtf8 {
  kFail,     // return false (the envelope encoder is strict, WIRE.md §1.6)
  kReplace,  // write U+FFFD per bad byte, as Go does (for text that must not fail)
};

// Appends `s` as a quoted JSON string to *out with Go's escaping: `"` and `\` as
// \" and \\, \b \f \n \r \t by name, other C0 controls as \u00xx, `<` `>` `&` as
// \u003c \u003e \u0026, U+2028/U+2029 as \u2028 \u2029, and all other non-ASCII as
// raw UTF-8. Returns false only with BadUtf8::kFail on invalid UTF-8, in which
// case *out is left as it was.
bool append_json_string(std::string_view s, std::string* out, BadUtf8 policy = BadUtf8::kFail);

}  // namespace oaio::detail
