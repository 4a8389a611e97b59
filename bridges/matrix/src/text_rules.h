// Small pure rules of the bridge: mention detection, transaction ids, sessions, and a
// bounded set of recently seen event ids.
// THREAD: functions are pure; RecentIds is not thread-safe (one owner thread).
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sync_parser.h"

namespace oaio::matrix {

// True when `msg` addresses the bot `bot_user_id` (e.g. "@bot:example.org"): listed
// in m.mentions.user_ids, a matrix.to pill to it in the HTML, its full MXID in the
// body, or its localpart ("bot") as a word in the body, optionally followed by ':'
// or ',' (case-insensitive).
bool mentions_bot(const RoomMessage& msg, std::string_view bot_user_id);

// A transaction id for PUT /send that is a pure function of (`kind`, `key`), so a
// retry of the same logical send is idempotent on the homeserver. Only [A-Za-z0-9._-].
std::string txn_id(std::string_view kind, std::string_view key);

// 64-bit FNV-1a, as 16 hex digits.
std::string fnv1a_hex(std::string_view s, std::uint64_t seed = 14695981039346656037ull);

// A bounded, insertion-ordered set of event ids: insert() returns false for an id
// already present; the oldest ids are forgotten beyond `capacity`.
class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity = 4096) : capacity_(capacity) {}
  bool insert(const std::string& id);
  bool contains(const std::string& id) const { return index_.count(id) != 0; }
  std::size_t size() const { return order_.size(); }

 private:
  std::size_t capacity_;
  std::list<std::string> order_;
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

}  // namespace oaio::matrix
