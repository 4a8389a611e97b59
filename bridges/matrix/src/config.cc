#include "config.h"

#include <nlohmann/json.hpp>

namespace oaio::matrix {

using Json = nlohmann::json;

const char kConfigSchema[] = R"({
  "type": "object",
  "required": ["homeserver_url"],
  "properties": {
    "homeserver_url": {"type": "string", "minLength": 1},
    "access_token": {"type": "string"},
    "password": {"type": "string"},
    "user_id": {"type": "string"},
    "device_id": {"type": "string"},
    "room_ids": {"type": "array", "items": {"type": "string"}},
    "sync_timeout": {"type": "number", "minimum": 0, "maximum": 300},
    "initial_sync_behavior": {"type": "string", "enum": ["skip", "replay"]},
    "outbound_msgtype": {"type": "string", "enum": ["m.text", "m.notice"]},
    "auto_join": {"type": "boolean"},
    "publish_events": {"type": "boolean"},
    "outbound": {"type": "boolean"},
    "outbound_queue": {"type": "string"},
    "agent_timeout_ms": {"type": "integer", "minimum": 0},
    "edit_interval_ms": {"type": "integer", "minimum": 0},
    "typing": {"type": "boolean"},
    "reply_style": {"type": "string", "enum": ["reply", "thread"]},
    "max_attempts": {"type": "integer", "minimum": 1, "maximum": 100},
    "reply_workers": {"type": "integer", "minimum": 1, "maximum": 32},
    "max_backoff_ms": {"type": "integer", "minimum": 10},
    "mappings": {"type": "object"}
  }
})";

bool Config::room_allowed(std::string_view room_id) const {
  if (all_rooms) return true;
  for (const auto& r : room_ids)
    if (r == room_id) return true;
  return false;
}

const RoomRoute& Config::route_for(std::string_view room_id) const {
  auto it = rooms.find(std::string(room_id));
  return it != rooms.end() ? it->second : default_route;
}

namespace {

std::string parse_route(const Json& j, const std::string& where, RoomRoute* r) {
  if (!j.is_object()) return where + ": expected an object";
  for (const char* key : {"target", "tool"}) {
    if (j.contains(key) && j[key].is_string() && !j[key].get<std::string>().empty()) r->target = j[key];
  }
  if (j.contains("mode")) {
    std::string m = j["mode"].is_string() ? j["mode"].get<std::string>() : "";
    if (m == "invoke") r->mode = RelayMode::kInvoke;
    else if (m == "stream") r->mode = RelayMode::kStream;
    else return where + "/mode: expected invoke or stream";
  }
  if (j.contains("require_mention")) {
    const Json& v = j["require_mention"];
    if (v.is_boolean()) r->require_mention = v.get<bool>() ? MentionRule::kAlways : MentionRule::kNever;
    else if (v.is_string() && v.get<std::string>() == "group") r->require_mention = MentionRule::kGroup;
    else return where + "/require_mention: expected true, false or \"group\"";
  }
  return {};
}

bool read_uint(const Json& j, const char* key, std::uint32_t* out, std::string* err) {
  if (!j.contains(key)) return true;
  const Json& v = j[key];
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<long long>() >= 0)) {
    *out = v.get<std::uint32_t>();
    return true;
  }
  if (v.is_number_float() && v.get<double>() >= 0) {
    *out = static_cast<std::uint32_t>(v.get<double>());
    return true;
  }
  *err = std::string(key) + ": expected a non-negative number";
  return false;
}

bool read_bool(const Json& j, const char* key, bool* out, std::string* err) {
  if (!j.contains(key)) return true;
  if (!j[key].is_boolean()) {
    *err = std::string(key) + ": expected true or false";
    return false;
  }
  *out = j[key].get<bool>();
  return true;
}

bool read_string(const Json& j, const char* key, std::string* out, std::string* err) {
  if (!j.contains(key) || j[key].is_null()) return true;
  if (!j[key].is_string()) {
    *err = std::string(key) + ": expected a string";
    return false;
  }
  *out = j[key].get<std::string>();
  return true;
}

}  // namespace

std::string parse_config(std::string_view text, Config* out) {
  Json j = Json::parse(text.empty() ? std::string_view("{}") : text, nullptr, false);
  if (!j.is_object()) return "config must be a JSON object";
  Config c;
  std::string err;
  if (!read_string(j, "homeserver_url", &c.homeserver_url, &err) ||
      !read_string(j, "access_token", &c.access_token, &err) || !read_string(j, "password", &c.password, &err) ||
      !read_string(j, "user_id", &c.user_id, &err) || !read_string(j, "device_id", &c.device_id, &err) ||
      !read_string(j, "outbound_msgtype", &c.outbound_msgtype, &err) ||
      !read_string(j, "outbound_queue", &c.outbound_queue, &err) ||
      !read_uint(j, "sync_timeout", &c.sync_timeout_s, &err) ||
      !read_uint(j, "agent_timeout_ms", &c.agent_timeout_ms, &err) ||
      !read_uint(j, "edit_interval_ms", &c.edit_interval_ms, &err) ||
      !read_uint(j, "max_attempts", &c.max_attempts, &err) ||
      !read_uint(j, "reply_workers", &c.reply_workers, &err) ||
      !read_uint(j, "max_backoff_ms", &c.max_backoff_ms, &err) || !read_bool(j, "auto_join", &c.auto_join, &err) ||
      !read_bool(j, "publish_events", &c.publish_events, &err) || !read_bool(j, "outbound", &c.outbound, &err) ||
      !read_bool(j, "typing", &c.typing, &err))
    return err;
  while (!c.homeserver_url.empty() && c.homeserver_url.back() == '/') c.homeserver_url.pop_back();
  if (c.homeserver_url.rfind("http://", 0) != 0 && c.homeserver_url.rfind("https://", 0) != 0)
    return "homeserver_url: expected an http:// or https:// URL";
  if (c.access_token.empty() && c.password.empty())
    return "access_token: required (or password with user_id for a password login)";
  if (c.access_token.empty() && c.user_id.empty()) return "user_id: required for a password login";
  if (c.outbound_msgtype != "m.text" && c.outbound_msgtype != "m.notice")
    return "outbound_msgtype: expected m.text or m.notice";
  if (c.max_attempts == 0) c.max_attempts = 1;
  if (c.reply_workers == 0 || c.reply_workers > 32) return "reply_workers: expected 1 to 32";
  if (j.contains("room_ids")) {
    if (!j["room_ids"].is_array()) return "room_ids: expected an array of room ids";
    for (const auto& r : j["room_ids"]) {
      if (!r.is_string() || r.get<std::string>().empty()) return "room_ids: expected non-empty strings";
      std::string id = r.get<std::string>();
      if (id == "*") c.all_rooms = true;
      else if (id[0] != '!') return "room_ids: '" + id + "' is not a room id (they start with '!')";
      else c.room_ids.push_back(id);
    }
  }
  if (c.room_ids.empty()) c.all_rooms = true;
  if (j.contains("initial_sync_behavior")) {
    std::string b = j["initial_sync_behavior"].is_string() ? j["initial_sync_behavior"].get<std::string>() : "";
    if (b == "replay") c.replay_history = true;
    else if (b != "skip") return "initial_sync_behavior: expected skip or replay";
  }
  if (j.contains("reply_style")) {
    std::string s = j["reply_style"].is_string() ? j["reply_style"].get<std::string>() : "";
    if (s == "thread") c.reply_style = ReplyStyle::kThread;
    else if (s != "reply") return "reply_style: expected reply or thread";
  }
  if (j.contains("mappings") && !j["mappings"].is_null()) {
    const Json& m = j["mappings"];
    if (!m.is_object()) return "mappings: expected an object";
    if (std::string e = parse_route(m, "mappings", &c.default_route); !e.empty()) return e;
    if (m.contains("session_strategy")) {
      std::string s = m["session_strategy"].is_string() ? m["session_strategy"].get<std::string>() : "";
      if (s == "room_sender") c.session_strategy = SessionStrategy::kRoomSender;
      else if (s != "room") return "mappings/session_strategy: expected room or room_sender";
    }
    if (m.contains("metadata_prefix") && m["metadata_prefix"].is_string() &&
        !m["metadata_prefix"].get<std::string>().empty())
      c.metadata_prefix = m["metadata_prefix"];
    if (m.contains("rooms")) {
      if (!m["rooms"].is_object()) return "mappings/rooms: expected an object of room id -> route";
      for (auto& [room, route_json] : m["rooms"].items()) {
        RoomRoute r = c.default_route;
        if (std::string e = parse_route(route_json, "mappings/rooms/" + room, &r); !e.empty()) return e;
        if (room == "*") c.default_route = r;
        else c.rooms[room] = r;
      }
    }
  }
  *out = std::move(c);
  return {};
}

}  // namespace oaio::matrix
