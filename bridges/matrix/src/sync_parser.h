// Parsing of a client-server API v3 /sync response into what the bridge acts on:
// the next batch token, room messages (m.room.message timeline events of joined
// rooms), invites, and joined-member counts. Tolerant: unknown fields are ignored,
// malformed events are skipped (counted), never fatal; only a response that is not a
// JSON object with a string `next_batch` is an error.
// THREAD: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace oaio::matrix {

struct RoomMessage {
  std::string room_id;
  std::string event_id;
  std::string sender;
  std::int64_t origin_server_ts = 0;
  std::string msgtype;     // m.text, m.notice, m.emote, m.image, ...
  std::string body;        // plain text
  std::string formatted_body;  // HTML when format is org.matrix.custom.html, else empty
  std::vector<std::string> mentioned_user_ids;  // content["m.mentions"].user_ids
  bool is_edit = false;    // m.relates_to rel_type m.replace (an edit of an earlier message)
  std::string thread_root; // m.relates_to rel_type m.thread event id, if any
};

// A user's join (m.room.member, membership join) seen in a room's timeline; messages
// of that room with a lower timeline position came before it.
struct MemberJoin {
  std::string room_id;
  std::string user_id;
  std::size_t messages_before = 0;  // how many of the room's messages in this batch precede it
};

struct SyncBatch {
  std::string next_batch;
  std::vector<RoomMessage> messages;  // in timeline order, room by room
  std::vector<std::string> invites;   // room ids the bot is invited to
  std::vector<MemberJoin> joins;      // membership joins in the timelines
  std::map<std::string, std::int64_t> joined_member_counts;  // from room summaries
  std::size_t skipped_events = 0;     // malformed timeline events ignored
};

// Returns an error text, or empty with `*out` filled.
std::string parse_sync_response(std::string_view body, SyncBatch* out);

// The sync filter JSON: m.room.message and m.room.member timeline events of
// `room_ids` (all rooms when empty), nothing else but invites and member counts. `timeline_limit` bounds the
// history of an initial sync.
std::string make_sync_filter(const std::vector<std::string>& room_ids, int timeline_limit);

}  // namespace oaio::matrix
