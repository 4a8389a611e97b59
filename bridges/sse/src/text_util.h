// Small text helpers shared by the parser, the error mapping and the bridge: UTF-8
// repair, secret redaction and one-line trimming of upstream messages.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace oaio::sse {

// `in` with every byte that is not part of a well-formed UTF-8 sequence (overlong
// forms, surrogates and values above U+10FFFF included) replaced by U+FFFD.
std::string to_valid_utf8(std::string_view in);
// Appends to_valid_utf8(in) to `out` (no allocation when `in` is already valid ASCII).
void append_valid_utf8(std::string& out, std::string_view in);

// `text` with every occurrence of each non-empty secret replaced by "***".
std::string redact(std::string text, const std::vector<std::string>& secrets);

// One line of at most `max_chars` bytes (on a UTF-8 boundary): control characters become
// spaces, runs of whitespace collapse, ends are trimmed, "..." marks a cut.
std::string one_line(std::string_view text, std::size_t max_chars = 300);

}  // namespace oaio::sse
