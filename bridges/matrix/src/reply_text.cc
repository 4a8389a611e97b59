#include "reply_text.h"

#include <nlohmann/json.hpp>

namespace oaio::matrix {

using Json = nlohmann::json;

namespace {

bool find_text(const Json& j, int depth, std::string* out) {
  if (depth > 8) return false;
  if (j.is_string()) {
    *out = j.get<std::string>();
    return true;
  }
  if (!j.is_object()) return false;
  for (const char* key : {"text", "content", "message", "answer", "output", "reply", "result", "echo", "data"}) {
    auto it = j.find(key);
    if (it != j.end() && find_text(*it, depth + 1, out)) return true;
  }
  return false;
}

}  // namespace

std::string final_text(std::string_view payload_json) {
  if (payload_json.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  Json j = Json::parse(payload_json, nullptr, false);
  if (j.is_discarded()) return std::string(payload_json);
  std::string out;
  if (find_text(j, 0, &out)) return out;
  if (j.is_null()) return {};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string delta_text(std::string_view payload_json) {
  Json j = Json::parse(payload_json, nullptr, false);
  if (!j.is_object()) return {};
  for (const char* key : {"delta", "text"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

std::string error_text(std::string_view code, std::string_view message) {
  std::string m(message);
  if (m.size() > 280) {
    std::size_t cut = 280;
    while (cut > 0 && (static_cast<unsigned char>(m[cut]) & 0xC0) == 0x80) --cut;  // not inside UTF-8
    m = m.substr(0, cut) + "...";
  }
  std::string out = "⚠️ The agent could not answer";
  if (!code.empty()) out += " (" + std::string(code) + ")";
  if (!m.empty()) out += ": " + m;
  return out;
}

}  // namespace oaio::matrix
