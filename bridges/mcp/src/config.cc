#include "config.h"

#include <cmath>
#include <stdexcept>

#include "jsonrpc.h"

namespace oaio::mcp {

const char kConfigSchema[] = R"JSON({
  "type": "object",
  "properties": {
    "transport": {"type": "string", "enum": ["stdio", "streamable_http", "http"]},
    "command": {"type": "string", "minLength": 1},
    "args": {"type": "array", "items": {"type": "string"}},
    "env": {"type": "object", "additionalProperties": {"type": "string"}},
    "cwd": {"type": "string"},
    "http_url": {"type": "string", "pattern": "^https?://"},
    "url": {"type": "string", "pattern": "^https?://"},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "token": {"type": "string"},
    "prefix": {"type": "string"},
    "timeout": {"type": ["number", "string"]},
    "connect_timeout": {"type": ["number", "string"]},
    "reconnect_max_delay": {"type": ["number", "string"]},
    "allow": {"type": "array", "items": {"type": "string"}},
    "deny": {"type": "array", "items": {"type": "string"}},
    "max_message_bytes": {"type": "integer", "minimum": 1024},
    "mappings": {"type": "object"}
  },
  "additionalProperties": false
})JSON";

namespace {

[[noreturn]] void bad(const std::string& m) { throw std::invalid_argument("mcp config: " + m); }

std::chrono::milliseconds seconds_value(const Json& v, const char* key) {
  double s = 0;
  if (v.is_number()) {
    s = v.get<double>();
  } else if (v.is_string()) {  // ${VAR} substitution always yields a string
    try {
      std::size_t used = 0;
      s = std::stod(v.get<std::string>(), &used);
      if (used != v.get<std::string>().size()) bad(std::string("'") + key + "' is not a number of seconds");
    } catch (const std::logic_error&) {
      bad(std::string("'") + key + "' is not a number of seconds");
    }
  } else {
    bad(std::string("'") + key + "' must be a number of seconds");
  }
  if (!(s > 0) || !std::isfinite(s) || s > 86400.0) bad(std::string("'") + key + "' must be in (0, 86400] seconds");
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(s * 1000.0)));
}

std::vector<std::string> strings(const Json& v, const char* key) {
  if (!v.is_array()) bad(std::string("'") + key + "' must be an array of strings");
  std::vector<std::string> out;
  for (const Json& s : v) {
    if (!s.is_string()) bad(std::string("'") + key + "' must be an array of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> string_map(const Json& v, const char* key) {
  if (!v.is_object()) bad(std::string("'") + key + "' must be an object of strings");
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [k, val] : v.items()) {
    if (!val.is_string()) bad(std::string("'") + key + "." + k + "' must be a string");
    out.emplace_back(k, val.get<std::string>());
  }
  return out;
}

std::string text(const Json& v, const char* key) {
  if (!v.is_string()) bad(std::string("'") + key + "' must be a string");
  return v.get<std::string>();
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool BridgeConfig::tool_allowed(std::string_view tool) const {
  bool allowed = allow.empty();
  for (const auto& a : allow)
    if (glob_match(a, tool)) allowed = true;
  for (const auto& d : deny)
    if (glob_match(d, tool)) allowed = false;
  return allowed;
}

namespace {
// Header or variable names whose values are credentials.
bool secret_name(std::string_view name) {
  std::string n;
  for (char c : name) n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (const char* word : {"authorization", "cookie", "key", "token", "secret", "password", "credential"})
    if (n.find(word) != std::string::npos) return true;
  return false;
}
}  // namespace

std::vector<std::string> BridgeConfig::secrets() const {
  std::vector<std::string> out;
  if (!http.token.empty()) out.push_back(http.token);
  for (const auto& [k, v] : http.headers)
    if (secret_name(k) && !v.empty()) out.push_back(v);
  for (const auto& [k, v] : stdio.env)  // e.g. GITHUB_TOKEN handed to a stdio server
    if (secret_name(k) && !v.empty()) out.push_back(v);
  return out;
}

BridgeConfig parse_config(std::string_view config_text, std::string_view bridge_name) {
  BridgeConfig c;
  Json j = config_text.find_first_not_of(" \t\r\n") == std::string_view::npos ? Json::object()
                                                                               : Json::parse(config_text, nullptr, false);
  if (!j.is_object()) bad("must be a JSON object");
  std::string transport;
  std::string mapped_prefix;
  for (auto& [key, v] : j.items()) {
    if (key == "transport") {
      transport = text(v, "transport");
    } else if (key == "command") {
      c.stdio.command = text(v, "command");
    } else if (key == "args") {
      c.stdio.args = strings(v, "args");
    } else if (key == "env") {
      c.stdio.env = string_map(v, "env");
    } else if (key == "cwd") {
      c.stdio.cwd = text(v, "cwd");
    } else if (key == "http_url" || key == "url") {
      c.http.url = text(v, key.c_str());
    } else if (key == "headers") {
      c.http.headers = string_map(v, "headers");
    } else if (key == "token") {
      c.http.token = text(v, "token");
    } else if (key == "prefix") {
      c.prefix = text(v, "prefix");
    } else if (key == "timeout") {
      c.call_timeout = seconds_value(v, "timeout");
    } else if (key == "connect_timeout") {
      c.connect_timeout = seconds_value(v, "connect_timeout");
    } else if (key == "reconnect_max_delay") {
      c.reconnect_max = seconds_value(v, "reconnect_max_delay");
    } else if (key == "allow") {
      c.allow = strings(v, "allow");
    } else if (key == "deny") {
      c.deny = strings(v, "deny");
    } else if (key == "max_message_bytes") {
      if (!v.is_number_unsigned() || v.get<uint64_t>() < 1024) bad("'max_message_bytes' must be an integer >= 1024");
      c.max_message_bytes = v.get<std::size_t>();
    } else if (key == "mappings") {
      if (!v.is_object()) bad("'mappings' must be an object");
      auto tp = v.find("target_prefix");
      if (tp != v.end() && !tp->is_null()) mapped_prefix = text(*tp, "mappings.target_prefix");
    } else {
      bad("unknown key '" + key + "'");
    }
  }
  if (transport.empty()) transport = !c.http.url.empty() && c.stdio.command.empty() ? "streamable_http" : "stdio";
  if (transport == "stdio") {
    c.transport = TransportKind::kStdio;
    if (c.stdio.command.empty()) bad("transport stdio needs 'command'");
  } else if (transport == "streamable_http" || transport == "http") {
    c.transport = TransportKind::kStreamableHttp;
    if (c.http.url.empty()) bad("transport streamable_http needs 'http_url'");
    if (c.http.url.rfind("http://", 0) != 0 && c.http.url.rfind("https://", 0) != 0)
      bad("'http_url' must start with http:// or https://");
  } else {
    bad("'transport' must be stdio or streamable_http, not '" + transport + "'");
  }
  // Prefix: mappings.target_prefix (the seed's key) wins over prefix, then the name.
  if (!mapped_prefix.empty()) c.prefix = mapped_prefix;
  if (c.prefix.empty()) c.prefix = std::string(bridge_name);
  while (!c.prefix.empty() && c.prefix.back() == '.') c.prefix.pop_back();
  if (c.prefix.empty()) bad("the target prefix is empty (set 'prefix')");
  for (char ch : c.prefix)
    if (ch == ' ' || ch == '*' || ch == '>' || static_cast<unsigned char>(ch) < 0x21)
      bad("prefix '" + c.prefix + "' is not usable in subject names");
  if (c.prefix.find("..") != std::string::npos || c.prefix.front() == '.') bad("prefix '" + c.prefix + "' has an empty token");
  c.stdio.max_message_bytes = c.max_message_bytes;
  c.http.max_message_bytes = c.max_message_bytes;
  return c;
}

}  // namespace oaio::mcp
