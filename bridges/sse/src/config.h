// The bridge's configuration: its JSON Schema (what the host validates a manifest's
// config against) and the parsed form. Two shapes are accepted, also together:
//   - ours: `endpoints` (chat targets) and `sources` (SSE streams published as events);
//   - the seed's openclaw_chat_sse config as is: top-level `base_url`, `token`, `model`,
//     `request_timeout` (or `timeout`) and `mappings` {text_field, session_field,
//     metadata_prefix}; it becomes one endpoint whose target is the bridge's name.
// bridges/sse/README.md documents every field.
// Thread-safety: plain values, read-only after parse_config().
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "error_map.h"

namespace oaio::sse {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct EndpointConfig {
  std::string target;                   // target name (the host may add a prefix)
  std::string description;
  std::string base_url;                 // e.g. http://127.0.0.1:8080/v1 ("/chat/completions" is appended)
  std::string api_key;                  // sent as "Authorization: Bearer <key>"; empty = no header
  std::string model;
  nlohmann::json params = nlohmann::json::object();  // default request parameters (temperature, ...)
  Headers headers;                      // extra request headers
  std::uint32_t request_timeout_ms = 0;   // whole request; 0 = none
  std::uint32_t idle_timeout_ms = 60000;  // longest silence between bytes; 0 = none
  std::uint32_t connect_timeout_ms = 10000;
  std::uint32_t retries = 2;              // extra attempts for retryable failures before the first delta
  std::uint32_t retry_backoff_ms = 250;   // first retry delay; doubles each attempt
  std::uint32_t max_retry_after_ms = 30000;  // a longer Retry-After fails at once instead
  bool include_usage = true;              // send stream_options.include_usage
  std::string text_field = "text";        // payload field holding one user turn
  std::string session_header;             // header carrying the call's session id; empty = none
  std::string metadata_prefix;            // request metadata "<prefix>k" -> body "k"; empty = off
  bool session_as_user = false;           // body.user = session id (the seed does this)
};

struct SourceConfig {
  std::string name;                       // for logs and state detail (never the URL: it may hold a token)
  std::string url;
  std::string event_type;                 // published event type
  Headers headers;
  std::uint32_t reconnect_ms = 1000;      // first delay; the server's `retry:` replaces it
  std::uint32_t max_reconnect_ms = 30000; // cap of the doubling back-off after failures
  std::uint32_t idle_timeout_ms = 0;      // reconnect after this much silence; 0 = never
  std::uint32_t connect_timeout_ms = 10000;
};

struct BridgeConfig {
  std::vector<EndpointConfig> endpoints;
  std::vector<SourceConfig> sources;
  std::size_t max_event_bytes = 4u << 20;
  std::uint32_t max_streams = 2000;       // concurrent chat calls; more get BACKPRESSURE
};

// The JSON Schema (static text).
const char* config_schema();

// Parses a config the host validated (and re-checks what the bridge relies on).
// `bridge_name` names the seed endpoint's target. Errors: INVALID_REQUEST naming the field.
Status parse_config(std::string_view text, std::string_view bridge_name, BridgeConfig* out);

// Request body keys the bridge owns; neither config params nor payloads may set them.
bool is_reserved_body_key(std::string_view key);

// Every secret of the config (API keys, header values), for redaction.
std::vector<std::string> config_secrets(const BridgeConfig& config);

}  // namespace oaio::sse
