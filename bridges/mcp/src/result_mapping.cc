#include "result_mapping.h"

namespace oaio::mcp {
namespace {
constexpr std::size_t kMaxErrorText = 4096;
constexpr char kRedacted[] = "[REDACTED]";

// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string cut_utf8(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  s.append("...");
  return s;
}
}  // namespace

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  std::size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

Json final_payload(const Json& result) {
  Json out = Json::object();
  Json content = Json::array();
  if (result.is_object()) {
    auto c = result.find("content");
    if (c != result.end() && c->is_array()) content = *c;
    auto sc = result.find("structuredContent");
    if (sc != result.end() && !sc->is_null()) out["structuredContent"] = *sc;
  }
  if (content.size() == 1 && content[0].is_object() && content[0].value("type", "") == "text" &&
      content[0].contains("text") && content[0]["text"].is_string())
    out["text"] = content[0]["text"];
  out["content"] = std::move(content);
  return out;
}

bool is_tool_error(const Json& result) {
  if (!result.is_object()) return false;
  auto e = result.find("isError");
  return e != result.end() && e->is_boolean() && e->get<bool>();
}

CallError tool_error(const Json& result, const std::vector<std::string>& secrets) {
  std::string text;
  if (result.is_object() && result.contains("content") && result["content"].is_array()) {
    for (const Json& item : result["content"]) {
      if (!item.is_object() || item.value("type", "") != "text" || !item.contains("text") || !item["text"].is_string())
        continue;
      if (!text.empty()) text.push_back('\n');
      text.append(item["text"].get<std::string>());
    }
  }
  std::string message(trim(redact(text, secrets)));
  if (message.empty()) message = "the tool reported an error without text";
  return CallError{OAIO_ERR_AGENT_UNAVAILABLE, cut_utf8(std::move(message), kMaxErrorText), 0};
}

std::string redact(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;  // too short to be a credential; would mangle text
    std::size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kRedacted);
      pos += sizeof(kRedacted) - 1;
    }
  }
  for (std::string_view scheme : {"Bearer ", "bearer ", "Basic ", "basic "}) {
    std::size_t pos = 0;
    while ((pos = out.find(scheme, pos)) != std::string::npos) {
      std::size_t start = pos + scheme.size();
      std::size_t end = start;
      while (end < out.size() && out[end] != ' ' && out[end] != '"' && out[end] != '\'' && out[end] != '\n' &&
             out[end] != ',' && out[end] != '\r')
        ++end;
      if (end > start && out.compare(start, end - start, kRedacted) != 0) out.replace(start, end - start, kRedacted);
      pos = start + 1;
    }
  }
  return out;
}

oaio_status code_for_jsonrpc_error(int code) {
  switch (code) {
    case kInvalidParams:
      return OAIO_ERR_INVALID_REQUEST;
    case kParseError:
    case kInvalidRequestCode:
      return OAIO_ERR_CODEC;
    default:
      return OAIO_ERR_AGENT_UNAVAILABLE;
  }
}

oaio_status code_for_http_status(long status) {
  if (status == 401 || status == 403) return OAIO_ERR_AUTH;
  if (status == 400 || status == 413 || status == 422) return OAIO_ERR_INVALID_REQUEST;
  if (status == 408 || status == 504) return OAIO_ERR_AGENT_TIMEOUT;
  if (status == 429) return OAIO_ERR_BACKPRESSURE;
  if (status >= 500) return OAIO_ERR_TRANSPORT;
  return OAIO_ERR_AGENT_UNAVAILABLE;
}

}  // namespace oaio::mcp
