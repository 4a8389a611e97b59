// The Matrix bridge's configuration: the seed's `matrix_event` config (homeserver_url,
// access_token, user_id, room_ids, sync_timeout, initial_sync_behavior,
// outbound_msgtype, mappings.*) plus this bridge's own options. See README.md for
// the reference; kConfigSchema is what the host validates against.
//
// Secrets (access_token, password) live in Config only; Config has no to_string and
// nothing logs it.
// THREAD: a plain value.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace oaio::matrix {

enum class RelayMode { kInvoke, kStream };
enum class ReplyStyle { kReply, kThread };
enum class MentionRule { kNever, kAlways, kGroup };  // when a mention of the bot is required
enum class SessionStrategy { kRoom, kRoomSender };

// How messages of one room are relayed to an agent. An empty target = not relayed.
struct RoomRoute {
  std::string target;
  RelayMode mode = RelayMode::kInvoke;
  MentionRule require_mention = MentionRule::kNever;
};

struct Config {
  std::string homeserver_url;        // without a trailing slash
  std::string access_token;          // secret; or password login:
  std::string password;              // secret
  std::string user_id;               // the bot's MXID (whoami fills it when empty)
  std::string device_id;             // for password login; empty = server chooses
  std::vector<std::string> room_ids; // allowed rooms; empty or "*" = every joined room
  bool all_rooms = false;            // room_ids empty or contains "*"
  std::uint32_t sync_timeout_s = 30;
  bool replay_history = false;       // initial_sync_behavior: replay (true) or skip
  std::string outbound_msgtype = "m.text";  // m.text | m.notice, for everything posted
  bool auto_join = true;             // join allowed rooms on invite
  bool publish_events = true;        // publish matrix.message.received
  bool outbound = true;              // consume matrix.message.send
  std::string outbound_queue;        // empty = "matrix-outbound.<bridge name>"
  std::uint32_t agent_timeout_ms = 120000;
  std::uint32_t edit_interval_ms = 500;
  bool typing = true;
  ReplyStyle reply_style = ReplyStyle::kReply;
  std::uint32_t reply_workers = 4;   // parallel posters of answers (1..32)
  std::uint32_t max_attempts = 8;    // per Matrix write (429 / 5xx / network)
  std::uint32_t max_backoff_ms = 10000;
  SessionStrategy session_strategy = SessionStrategy::kRoom;
  std::string metadata_prefix = "matrix.";
  RoomRoute default_route;                 // mappings.target / mappings.tool ("*")
  std::map<std::string, RoomRoute> rooms;  // mappings.rooms: per-room routes

  bool room_allowed(std::string_view room_id) const;
  // The route of a room: its own, else the default one.
  const RoomRoute& route_for(std::string_view room_id) const;
};

// Parses and checks the config JSON text. Returns an error message (naming the key,
// never a secret's value) or empty on success.
std::string parse_config(std::string_view text, Config* out);

extern const char kConfigSchema[];

}  // namespace oaio::matrix
