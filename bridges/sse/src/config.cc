#include "config.h"

#include <cmath>

namespace oaio::sse {
namespace {

using Json = nlohmann::json;

// Draft 7 subset (what the host's validator reads). Timeouts are seconds, like the seed.
constexpr char kSchema[] = R"JSON({
  "type": "object",
  "properties": {
    "endpoints": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "target": {"type": "string", "minLength": 1},
          "description": {"type": "string"},
          "base_url": {"type": "string", "minLength": 1},
          "api_key": {"type": "string"},
          "model": {"type": "string", "minLength": 1},
          "params": {"type": "object"},
          "headers": {"type": "object", "additionalProperties": {"type": "string"}},
          "request_timeout": {"type": "number", "minimum": 0},
          "idle_timeout": {"type": "number", "minimum": 0},
          "connect_timeout": {"type": "number", "minimum": 0},
          "retries": {"type": "integer", "minimum": 0, "maximum": 10},
          "retry_backoff_ms": {"type": "integer", "minimum": 0},
          "max_retry_after_ms": {"type": "integer", "minimum": 0},
          "include_usage": {"type": "boolean"},
          "text_field": {"type": "string", "minLength": 1},
          "session_header": {"type": "string"},
          "metadata_prefix": {"type": "string"},
          "session_as_user": {"type": "boolean"}
        },
        "required": ["target", "base_url", "model"],
        "additionalProperties": false
      }
    },
    "sources": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "name": {"type": "string"},
          "url": {"type": "string", "minLength": 1},
          "event_type": {"type": "string", "minLength": 1},
          "headers": {"type": "object", "additionalProperties": {"type": "string"}},
          "reconnect_ms": {"type": "integer", "minimum": 0},
          "max_reconnect_ms": {"type": "integer", "minimum": 0},
          "idle_timeout": {"type": "number", "minimum": 0},
          "connect_timeout": {"type": "number", "minimum": 0}
        },
        "required": ["url", "event_type"],
        "additionalProperties": false
      }
    },
    "max_event_bytes": {"type": "integer", "minimum": 1024},
    "max_streams": {"type": "integer", "minimum": 1},
    "base_url": {"type": "string"},
    "token": {"type": "string"},
    "model": {"type": "string"},
    "request_timeout": {"type": ["number", "string"]},
    "timeout": {"type": ["number", "string"]},
    "mappings": {"type": "object"}
  },
  "additionalProperties": false
})JSON";

Status bad(std::string_view where, std::string_view what) {
  return Status::invalid("sse config: " + std::string(where) + ": " + std::string(what));
}

// Seconds (a number, or a numeric string as ${VAR} substitution yields) -> ms.
bool seconds_ms(const Json& v, std::uint32_t* out) {
  double s;
  if (v.is_number()) {
    s = v.get<double>();
  } else if (v.is_string()) {
    try {
      std::size_t used = 0;
      s = std::stod(v.get<std::string>(), &used);
      if (used != v.get<std::string>().size()) return false;
    } catch (...) {
      return false;
    }
  } else {
    return false;
  }
  if (!std::isfinite(s) || s < 0 || s > 4e6) return false;
  *out = static_cast<std::uint32_t>(std::llround(s * 1000.0));
  return true;
}

Status read_headers(const Json& obj, std::string_view where, Headers* out) {
  if (!obj.is_object()) return bad(where, "expected an object of strings");
  for (auto& [k, v] : obj.items()) {
    if (!v.is_string()) return bad(where, "header '" + k + "' is not a string");
    if (k.empty() || k.find_first_of(":\r\n ") != std::string::npos) return bad(where, "bad header name '" + k + "'");
    if (v.get<std::string>().find_first_of("\r\n") != std::string::npos)
      return bad(where, "header '" + k + "' has a line break");
    out->emplace_back(k, v.get<std::string>());
  }
  return Status();
}

bool uint_field(const Json& obj, const char* key, std::uint32_t* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return true;
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() > UINT32_MAX) return false;
  *out = it->get<std::uint32_t>();
  return true;
}

std::string str_field(const Json& obj, const char* key, std::string dflt = {}) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : dflt;
}

Status parse_endpoint(const Json& e, const std::string& where, EndpointConfig* ep) {
  if (!e.is_object()) return bad(where, "expected an object");
  for (const char* key : {"target", "base_url", "model"})
    if (str_field(e, key).empty()) return bad(where, std::string("'") + key + "' is required");
  ep->target = str_field(e, "target");
  ep->description = str_field(e, "description");
  ep->base_url = str_field(e, "base_url");
  ep->api_key = str_field(e, "api_key");
  ep->model = str_field(e, "model");
  if (auto it = e.find("params"); it != e.end()) {
    if (!it->is_object()) return bad(where + "/params", "expected an object");
    for (auto& [k, v] : it->items())
      if (is_reserved_body_key(k)) return bad(where + "/params", "'" + k + "' is set by the bridge");
    ep->params = *it;
  }
  if (auto it = e.find("headers"); it != e.end())
    if (Status s = read_headers(*it, where + "/headers", &ep->headers); !s.ok()) return s;
  for (auto [key, field] : {std::pair{"request_timeout", &ep->request_timeout_ms},
                            std::pair{"idle_timeout", &ep->idle_timeout_ms},
                            std::pair{"connect_timeout", &ep->connect_timeout_ms}}) {
    auto it = e.find(key);
    if (it != e.end() && !seconds_ms(*it, field)) return bad(where + "/" + key, "expected seconds >= 0");
  }
  if (!uint_field(e, "retries", &ep->retries) || ep->retries > 10) return bad(where + "/retries", "expected 0..10");
  if (!uint_field(e, "retry_backoff_ms", &ep->retry_backoff_ms)) return bad(where, "bad retry_backoff_ms");
  if (!uint_field(e, "max_retry_after_ms", &ep->max_retry_after_ms)) return bad(where, "bad max_retry_after_ms");
  if (auto it = e.find("include_usage"); it != e.end() && it->is_boolean()) ep->include_usage = it->get<bool>();
  if (auto it = e.find("session_as_user"); it != e.end() && it->is_boolean()) ep->session_as_user = it->get<bool>();
  ep->text_field = str_field(e, "text_field", "text");
  if (ep->text_field.empty()) ep->text_field = "text";
  ep->session_header = str_field(e, "session_header");
  if (ep->session_header.find_first_of(":\r\n ") != std::string::npos) return bad(where, "bad session_header");
  ep->metadata_prefix = str_field(e, "metadata_prefix");
  return Status();
}

Status parse_source(const Json& s, const std::string& where, std::size_t index, SourceConfig* src) {
  if (!s.is_object()) return bad(where, "expected an object");
  src->url = str_field(s, "url");
  src->event_type = str_field(s, "event_type");
  if (src->url.empty()) return bad(where, "'url' is required");
  if (src->event_type.empty()) return bad(where, "'event_type' is required");
  src->name = str_field(s, "name", "source" + std::to_string(index));
  if (auto it = s.find("headers"); it != s.end())
    if (Status st = read_headers(*it, where + "/headers", &src->headers); !st.ok()) return st;
  if (!uint_field(s, "reconnect_ms", &src->reconnect_ms)) return bad(where, "bad reconnect_ms");
  if (!uint_field(s, "max_reconnect_ms", &src->max_reconnect_ms)) return bad(where, "bad max_reconnect_ms");
  for (auto [key, field] : {std::pair{"idle_timeout", &src->idle_timeout_ms},
                            std::pair{"connect_timeout", &src->connect_timeout_ms}}) {
    auto it = s.find(key);
    if (it != s.end() && !seconds_ms(*it, field)) return bad(where + "/" + key, "expected seconds >= 0");
  }
  return Status();
}

// The seed's openclaw_chat_sse fields, mapped as the seed maps them: text_field picks
// the payload field, session_field names the header carrying the session id (default
// x-openclaw-session-key) and the session id also goes in body.user, metadata keys
// "<metadata_prefix>k" (default "openclaw.") become body params, and request_timeout
// (default 60 s) bounds each wait for data, as httpx's timeout did in the seed.
Status parse_seed(const Json& c, std::string_view bridge_name, EndpointConfig* ep) {
  ep->target = std::string(bridge_name);
  ep->base_url = str_field(c, "base_url");
  ep->api_key = str_field(c, "token");
  ep->model = str_field(c, "model");
  if (ep->model.empty()) return bad("/model", "required with base_url (the seed's openclaw_chat_sse config)");
  ep->description = "OpenAI-compatible chat stream (openclaw_chat_sse)";
  std::uint32_t timeout_ms = 60000;
  for (const char* key : {"timeout", "request_timeout"}) {
    auto it = c.find(key);
    if (it != c.end() && !seconds_ms(*it, &timeout_ms)) return bad(std::string("/") + key, "expected seconds >= 0");
  }
  if (timeout_ms == 0) return bad("/request_timeout", "must be positive");
  ep->idle_timeout_ms = timeout_ms;
  ep->request_timeout_ms = 0;
  ep->session_as_user = true;
  ep->include_usage = true;
  Json m = c.value("mappings", Json::object());
  if (!m.is_object()) return bad("/mappings", "expected an object");
  ep->text_field = str_field(m, "text_field");
  if (ep->text_field.empty()) ep->text_field = "text";
  ep->session_header = str_field(m, "session_field");
  if (ep->session_header.empty()) ep->session_header = "x-openclaw-session-key";
  if (ep->session_header.find_first_of(":\r\n ") != std::string::npos) return bad("/mappings/session_field", "bad header name");
  ep->metadata_prefix = str_field(m, "metadata_prefix");
  if (ep->metadata_prefix.empty()) ep->metadata_prefix = "openclaw.";
  return Status();
}

}  // namespace

const char* config_schema() { return kSchema; }

bool is_reserved_body_key(std::string_view key) {
  return key == "model" || key == "messages" || key == "stream" || key == "stream_options";
}

Status parse_config(std::string_view text, std::string_view bridge_name, BridgeConfig* out) {
  *out = BridgeConfig();
  Json c = text.find_first_not_of(" \t\r\n") == std::string_view::npos ? Json::object()
                                                                        : Json::parse(text, nullptr, false);
  if (!c.is_object()) return bad("/", "expected a JSON object");
  if (auto it = c.find("endpoints"); it != c.end()) {
    if (!it->is_array()) return bad("/endpoints", "expected an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      EndpointConfig ep;
      if (Status s = parse_endpoint((*it)[i], "/endpoints/" + std::to_string(i), &ep); !s.ok()) return s;
      out->endpoints.push_back(std::move(ep));
    }
  }
  if (!str_field(c, "base_url").empty()) {
    EndpointConfig ep;
    if (Status s = parse_seed(c, bridge_name, &ep); !s.ok()) return s;
    out->endpoints.push_back(std::move(ep));
  }
  if (auto it = c.find("sources"); it != c.end()) {
    if (!it->is_array()) return bad("/sources", "expected an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      SourceConfig src;
      if (Status s = parse_source((*it)[i], "/sources/" + std::to_string(i), i, &src); !s.ok()) return s;
      out->sources.push_back(std::move(src));
    }
  }
  if (auto it = c.find("max_event_bytes"); it != c.end()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1024) return bad("/max_event_bytes", "expected >= 1024");
    out->max_event_bytes = it->get<std::size_t>();
  }
  if (!uint_field(c, "max_streams", &out->max_streams) || out->max_streams == 0) return bad("/max_streams", "expected >= 1");
  if (out->endpoints.empty() && out->sources.empty())
    return bad("/", "nothing to serve: give endpoints, sources, or the seed's base_url/model");
  for (std::size_t i = 0; i < out->endpoints.size(); ++i)
    for (std::size_t j = i + 1; j < out->endpoints.size(); ++j)
      if (out->endpoints[i].target == out->endpoints[j].target)
        return bad("/endpoints", "target '" + out->endpoints[i].target + "' is declared twice");
  return Status();
}

std::vector<std::string> config_secrets(const BridgeConfig& config) {
  std::vector<std::string> out;
  for (const auto& ep : config.endpoints) {
    if (ep.api_key.size() >= 4) out.push_back(ep.api_key);
    for (const auto& [k, v] : ep.headers)
      if (v.size() >= 8) out.push_back(v);
  }
  for (const auto& src : config.sources)
    for (const auto& [k, v] : src.headers)
      if (v.size() >= 8) out.push_back(v);
  return out;
}

}  // namespace oaio::sse
