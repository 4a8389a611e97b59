// How MCP results and failures become bus replies: the final payload of a tool call,
// the error text of a tool that reported isError, secret redaction, and the table of
// JSON-RPC / HTTP / transport failures onto ACP codes (documented in README.md).
// THREAD: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jsonrpc.h"
#include "oaio/plugin.h"

namespace oaio::mcp {

// A failure ready for Call::fail.
struct CallError {
  oaio_status code = OAIO_ERR_AGENT_UNAVAILABLE;
  std::string message;
  int32_t retryable = -1;  // -1 = the code's default
};

// The final payload of a successful tools/call result: {"content":[...]} plus
// "structuredContent" when the result has it, plus "text" when the content is exactly
// one text item.
Json final_payload(const Json& result);

// True when the result reports a tool-level error (isError: true).
bool is_tool_error(const Json& result);

// The error reply for an isError result: AGENT_UNAVAILABLE (not retryable) with the
// tool's text items joined by '\n', trimmed, secrets redacted, at most 4 KiB.
CallError tool_error(const Json& result, const std::vector<std::string>& secrets);

// Replaces every occurrence of each non-empty secret, and the credential after
// "Bearer " / "Basic ", with "[REDACTED]".
std::string redact(std::string_view text, const std::vector<std::string>& secrets);

// JSON-RPC error response from the server -> ACP code:
//   -32602 invalid params -> INVALID_REQUEST; -32700 / -32600 -> CODEC_FAILURE;
//   everything else (-32601, -32603, server-defined) -> AGENT_UNAVAILABLE.
oaio_status code_for_jsonrpc_error(int code);

// HTTP status of a Streamable HTTP exchange -> ACP code:
//   401, 403 -> AUTH_FAILURE; 400, 413, 422 -> INVALID_REQUEST; 408, 504 -> AGENT_TIMEOUT;
//   429 -> BACKPRESSURE_DROP; other 5xx -> TRANSPORT_FAILURE; anything else -> AGENT_UNAVAILABLE.
oaio_status code_for_http_status(long status);

// Trims ASCII whitespace at both ends.
std::string_view trim(std::string_view s);

}  // namespace oaio::mcp
