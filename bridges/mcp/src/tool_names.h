// The reversible rule that turns an MCP tool name into one bus subject token.
// Bytes in [A-Za-z0-9_-] are kept; every other byte (including '.', '~', spaces and
// each byte of a non-ASCII UTF-8 sequence) becomes "~XX" with XX its value in
// uppercase hex. "get.weather v2" -> "get~2Eweather~20v2". Decoding reverses it; a
// token that is not a valid encoding (bad escape, a byte that should have been escaped,
// lowercase hex) decodes to nothing, so every token maps to at most one tool name.
// THREAD: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace oaio::mcp {

std::string encode_tool_name(std::string_view tool);
std::optional<std::string> decode_tool_name(std::string_view token);

}  // namespace oaio::mcp
