// Building the HTTP request of one chat call: POST {base_url}/chat/completions with
// {"model", "messages", "stream": true, "stream_options": {"include_usage": true},
// ...parameters}. The payload carries `text` (the endpoint's text_field: one user
// turn) and/or `messages` (a full history: system, user, assistant, tool, developer
// roles; with both, text is appended as the last user turn) plus any other
// chat-completions parameter (temperature, max_tokens, tools, tool_choice, stop, ...).
// Precedence of parameters: endpoint defaults < request metadata "<metadata_prefix>k"
// < payload. `model`, `stream` and `stream_options` in a payload are refused with
// INVALID_REQUEST (the endpoint owns them); in metadata they are ignored.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.h"

namespace oaio::sse {

struct CallContext {
  std::string_view payload;     // raw JSON
  std::string_view session_id;
  std::string_view metadata;    // raw JSON object text or empty
};

struct ChatRequest {
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value" lines
};

Status build_chat_request(const EndpointConfig& ep, const CallContext& call, ChatRequest* out);

// {base_url without trailing '/'}/chat/completions
std::string chat_url(std::string_view base_url);

}  // namespace oaio::sse
