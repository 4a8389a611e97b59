#include "chat_request.h"

#include <nlohmann/json.hpp>

namespace oaio::sse {
namespace {

using Json = nlohmann::json;

Status invalid(const EndpointConfig& ep, const std::string& what) {
  return Status::invalid("sse '" + ep.target + "': " + what);
}

bool known_role(const std::string& role) {
  return role == "system" || role == "user" || role == "assistant" || role == "tool" || role == "developer" ||
         role == "function";
}

}  // namespace

std::string chat_url(std::string_view base_url) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/chat/completions";
}

Status build_chat_request(const EndpointConfig& ep, const CallContext& call, ChatRequest* out) {
  bool blank = call.payload.find_first_not_of(" \t\r\n") == std::string_view::npos;
  Json payload = blank ? Json() : Json::parse(call.payload, nullptr, false);
  if (!payload.is_object())
    return invalid(ep, "payload must be a JSON object with '" + ep.text_field + "' or 'messages'");

  Json messages = Json::array();
  if (auto it = payload.find("messages"); it != payload.end()) {
    if (!it->is_array()) return invalid(ep, "'messages' must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const Json& m = (*it)[i];
      std::string where = "messages[" + std::to_string(i) + "]";
      if (!m.is_object()) return invalid(ep, where + " must be an object");
      auto role = m.find("role");
      if (role == m.end() || !role->is_string() || !known_role(role->get<std::string>()))
        return invalid(ep, where + ".role must be one of system, user, assistant, tool, developer, function");
      messages.push_back(m);
    }
  }
  if (auto it = payload.find(ep.text_field); it != payload.end() && ep.text_field != "messages") {
    if (!it->is_string()) return invalid(ep, "'" + ep.text_field + "' must be a string");
    messages.push_back(Json{{"role", "user"}, {"content", *it}});
  }
  if (messages.empty()) return invalid(ep, "payload needs '" + ep.text_field + "' or a non-empty 'messages'");

  Json body = ep.params.is_object() ? ep.params : Json::object();
  if (!ep.metadata_prefix.empty() && !call.metadata.empty()) {
    Json meta = Json::parse(call.metadata, nullptr, false);
    if (meta.is_object()) {
      for (auto& [key, value] : meta.items()) {
        if (key.size() <= ep.metadata_prefix.size() || key.compare(0, ep.metadata_prefix.size(), ep.metadata_prefix) != 0)
          continue;
        std::string name = key.substr(ep.metadata_prefix.size());
        if (is_reserved_body_key(name) || name == "user") continue;
        body[name] = value;
      }
    }
  }
  for (auto& [key, value] : payload.items()) {
    if (key == ep.text_field || key == "messages") continue;
    if (is_reserved_body_key(key))
      return invalid(ep, "payload field '" + key + "' is reserved (the endpoint sets it)");
    body[key] = value;
  }
  if (ep.session_as_user && !call.session_id.empty() && !body.contains("user")) body["user"] = call.session_id;
  body["model"] = ep.model;
  body["messages"] = std::move(messages);
  body["stream"] = true;
  if (ep.include_usage) body["stream_options"] = Json{{"include_usage", true}};

  out->url = chat_url(ep.base_url);
  out->body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  out->headers.clear();
  out->headers.push_back("Content-Type: application/json");
  out->headers.push_back("Accept: text/event-stream");
  if (!ep.api_key.empty()) out->headers.push_back("Authorization: Bearer " + ep.api_key);
  for (const auto& [k, v] : ep.headers) out->headers.push_back(k + ": " + v);
  if (!ep.session_header.empty() && !call.session_id.empty()) {
    std::string sid(call.session_id);
    if (sid.find_first_of("\r\n") == std::string::npos) out->headers.push_back(ep.session_header + ": " + sid);
  }
  return Status();
}

}  // namespace oaio::sse
