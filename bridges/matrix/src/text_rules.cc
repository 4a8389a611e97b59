#include "text_rules.h"

#include <cctype>
#include <cstdint>

namespace oaio::matrix {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool word_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == '=' || u >= 0x80;
}

// True if `needle` occurs in `hay` not glued to other word characters.
bool contains_word(const std::string& hay, const std::string& needle) {
  if (needle.empty()) return false;
  for (std::size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
    bool left_ok = pos == 0 || (!word_char(hay[pos - 1]) && hay[pos - 1] != '@');
    std::size_t end = pos + needle.size();
    // a trailing '.' ends a sentence, not a word
    bool right_ok = end == hay.size() || !word_char(hay[end]) ||
                    (hay[end] == '.' && (end + 1 == hay.size() || !word_char(hay[end + 1])));
    if (left_ok && right_ok) return true;
  }
  return false;
}

}  // namespace

bool mentions_bot(const RoomMessage& msg, std::string_view bot_user_id) {
  if (bot_user_id.empty()) return false;
  for (const auto& id : msg.mentioned_user_ids)
    if (id == bot_user_id) return true;
  std::string id_l = lower(bot_user_id);
  std::string body_l = lower(msg.body);
  if (body_l.find(id_l) != std::string::npos) return true;
  if (!msg.formatted_body.empty()) {
    std::string html_l = lower(msg.formatted_body);
    if (html_l.find("matrix.to/#/" + id_l) != std::string::npos) return true;
    // the pill may percent-encode '@' and ':'
    std::string enc = id_l;
    std::string encoded;
    for (char c : enc) {
      if (c == '@') encoded += "%40";
      else if (c == ':') encoded += "%3a";
      else encoded += c;
    }
    if (html_l.find("matrix.to/#/" + encoded) != std::string::npos) return true;
  }
  // localpart: "@bot:server" -> "bot"
  std::string_view local = bot_user_id;
  if (!local.empty() && local[0] == '@') local.remove_prefix(1);
  local = local.substr(0, local.find(':'));
  return contains_word(body_l, lower(local)) || contains_word(body_l, "@" + lower(local));
}

std::string fnv1a_hex(std::string_view s, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[h & 15];
    h >>= 4;
  }
  return out;
}

std::string txn_id(std::string_view kind, std::string_view key) {
  std::string out = "oaio.";
  for (char c : kind) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) || c == '-' || c == '_' ? c : '_');
  }
  out.push_back('.');
  // Two independent 64-bit hashes: 128 bits, collisions are not a practical concern.
  out += fnv1a_hex(key);
  out += fnv1a_hex(key, 0x84222325cbf29ce4ull);
  return out;
}

bool RecentIds::insert(const std::string& id) {
  if (index_.count(id) != 0) return false;
  order_.push_back(id);
  index_.emplace(id, std::prev(order_.end()));
  while (order_.size() > capacity_) {
    index_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

}  // namespace oaio::matrix
