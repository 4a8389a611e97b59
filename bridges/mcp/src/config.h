// The mcp bridge config: its JSON Schema (which the host validates against) and the
// parser that turns a validated config into settings. Both the plugin's own keys and
// the seed's mcp_tool config (transport, command, args, env, http_url, headers, token,
// timeout, mappings.target_prefix) are accepted. README.md is the reference.
// THREAD: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "http_transport.h"
#include "stdio_transport.h"

namespace oaio::mcp {

extern const char kConfigSchema[];

enum class TransportKind { kStdio, kStreamableHttp };

struct BridgeConfig {
  TransportKind transport = TransportKind::kStdio;
  StdioOptions stdio;
  HttpOptions http;
  std::string prefix;  // target prefix; never empty after parsing
  std::chrono::milliseconds call_timeout{60000};
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds reconnect_initial{200};
  std::chrono::milliseconds reconnect_max{10000};
  std::vector<std::string> allow;  // tool-name globs ('*'); empty = all
  std::vector<std::string> deny;   // tool-name globs; applied after allow
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;

  bool tool_allowed(std::string_view tool) const;
  std::vector<std::string> secrets() const;  // values never to show in errors or logs
};

// Parses a config (already validated by the host; still checked here). Throws
// std::invalid_argument with a message naming the key on bad input. `bridge_name` is
// the default prefix.
BridgeConfig parse_config(std::string_view text, std::string_view bridge_name);

// '*' matches any run of characters; everything else matches itself.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace oaio::mcp
