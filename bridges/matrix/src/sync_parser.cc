#include "sync_parser.h"

#include <nlohmann/json.hpp>

namespace oaio::matrix {

using Json = nlohmann::json;

namespace {

std::string str_field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One timeline event; false when it is not a usable m.room.message.
bool parse_message(const std::string& room_id, const Json& ev, RoomMessage* m) {
  if (!ev.is_object()) return false;
  if (str_field(ev, "type") != "m.room.message") return false;
  m->room_id = room_id;
  m->event_id = str_field(ev, "event_id");
  m->sender = str_field(ev, "sender");
  if (m->event_id.empty() || m->sender.empty()) return false;
  auto ts = ev.find("origin_server_ts");
  if (ts != ev.end() && ts->is_number_integer()) m->origin_server_ts = ts->get<std::int64_t>();
  auto content = ev.find("content");
  if (content == ev.end() || !content->is_object()) return false;
  m->msgtype = str_field(*content, "msgtype");
  m->body = str_field(*content, "body");
  if (m->msgtype.empty()) return false;  // a redacted message has empty content
  if (str_field(*content, "format") == "org.matrix.custom.html") m->formatted_body = str_field(*content, "formatted_body");
  auto mentions = content->find("m.mentions");
  if (mentions != content->end() && mentions->is_object()) {
    auto ids = mentions->find("user_ids");
    if (ids != mentions->end() && ids->is_array())
      for (const auto& id : *ids)
        if (id.is_string()) m->mentioned_user_ids.push_back(id.get<std::string>());
  }
  auto rel = content->find("m.relates_to");
  if (rel != content->end() && rel->is_object()) {
    std::string rel_type = str_field(*rel, "rel_type");
    if (rel_type == "m.replace") m->is_edit = true;
    if (rel_type == "m.thread") m->thread_root = str_field(*rel, "event_id");
  }
  return true;
}

}  // namespace

std::string parse_sync_response(std::string_view body, SyncBatch* out) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) return "sync response is not a JSON object";
  SyncBatch b;
  b.next_batch = str_field(j, "next_batch");
  if (b.next_batch.empty()) return "sync response has no next_batch";
  auto rooms = j.find("rooms");
  if (rooms != j.end() && rooms->is_object()) {
    auto join = rooms->find("join");
    if (join != rooms->end() && join->is_object()) {
      for (auto& [room_id, room] : join->items()) {
        if (!room.is_object()) continue;
        auto summary = room.find("summary");
        if (summary != room.end() && summary->is_object()) {
          auto n = summary->find("m.joined_member_count");
          if (n != summary->end() && n->is_number_integer()) b.joined_member_counts[room_id] = n->get<std::int64_t>();
        }
        auto timeline = room.find("timeline");
        if (timeline == room.end() || !timeline->is_object()) continue;
        auto events = timeline->find("events");
        if (events == timeline->end() || !events->is_array()) continue;
        std::size_t room_messages = 0;
        for (const auto& ev : *events) {
          if (ev.is_object() && str_field(ev, "type") == "m.room.member") {
            auto c = ev.find("content");
            if (c != ev.end() && c->is_object() && str_field(*c, "membership") == "join" &&
                !str_field(ev, "state_key").empty())
              b.joins.push_back(MemberJoin{room_id, str_field(ev, "state_key"), room_messages});
            continue;
          }
          RoomMessage m;
          if (parse_message(room_id, ev, &m)) {
            b.messages.push_back(std::move(m));
            ++room_messages;
          } else if (!ev.is_object() || str_field(ev, "type") == "m.room.message") {
            ++b.skipped_events;
          }
        }
      }
    }
    auto invite = rooms->find("invite");
    if (invite != rooms->end() && invite->is_object())
      for (auto& [room_id, room] : invite->items()) b.invites.push_back(room_id);
  }
  *out = std::move(b);
  return {};
}

std::string make_sync_filter(const std::vector<std::string>& room_ids, int timeline_limit) {
  Json room = {
      {"timeline", {{"types", {"m.room.message", "m.room.member"}}, {"limit", timeline_limit}}},
      {"state", {{"types", Json::array()}, {"lazy_load_members", true}}},
      {"ephemeral", {{"types", Json::array()}}},
      {"account_data", {{"types", Json::array()}}},
  };
  if (!room_ids.empty()) room["rooms"] = room_ids;
  Json f = {{"room", room}, {"presence", {{"types", Json::array()}}}, {"account_data", {{"types", Json::array()}}}};
  return f.dump();
}

}  // namespace oaio::matrix
