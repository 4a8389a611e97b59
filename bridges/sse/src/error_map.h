// How upstream failures become ACP error codes (bridges/sse/README.md has the table):
//   HTTP 401/403 -> AUTH_FAILURE; 400/404/409/413/422 and other 4xx -> INVALID_REQUEST;
//   408 -> AGENT_TIMEOUT; 429 -> BACKPRESSURE (retryable, retry_after_ms from
//   Retry-After); 503 -> AGENT_UNAVAILABLE (retryable); other 5xx -> TRANSPORT_FAILURE;
//   connection refused / DNS -> AGENT_UNAVAILABLE; other transfer errors (reset, cut
//   off) -> TRANSPORT_FAILURE; curl timeouts -> AGENT_TIMEOUT;
//   an `error` object inside the stream -> by its code/type/status (auth, invalid,
//   rate limit, else AGENT_UNAVAILABLE).
// Every message carries the upstream's own message (one line, trimmed) with the
// bridge's secrets replaced by "***".
// Thread-safety: pure functions.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "oaio/plugin.hpp"

namespace oaio::sse {

using oaio::plugin::Status;

// Context for messages: who failed (e.g. "sse 'chat': ") and what to hide.
struct ErrorContext {
  std::string prefix;
  std::vector<std::string> secrets;
};

// Retry-After: delay-seconds or an HTTP date, as milliseconds from now; 0 = none/unparsable.
std::uint32_t parse_retry_after_ms(std::string_view value);

// The upstream's message in an error body: error.message (OpenAI style), message,
// detail, or else the body text itself.
std::string upstream_message(std::string_view body);

Status status_from_http(long http_status, std::string_view body, std::string_view retry_after,
                        const ErrorContext& ctx);
Status status_from_curl(CURLcode code, std::string_view curl_message, const ErrorContext& ctx);
// `error` is the value of the `error` key of a stream chunk (object or anything else).
Status status_from_stream_error(const nlohmann::json& error, const ErrorContext& ctx);

// True for the codes worth retrying before anything was forwarded.
bool is_retryable(const Status& s);

}  // namespace oaio::sse
