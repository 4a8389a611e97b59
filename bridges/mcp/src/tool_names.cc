#include "tool_names.h"

namespace oaio::mcp {
namespace {

bool keep(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lowercase is not produced by the encoder, so it is refused
}

}  // namespace

std::string encode_tool_name(std::string_view tool) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(tool.size());
  for (char ch : tool) {
    auto c = static_cast<unsigned char>(ch);
    if (keep(c)) {
      out.push_back(ch);
    } else {
      out.push_back('~');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::optional<std::string> decode_tool_name(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (std::size_t i = 0; i < token.size(); ++i) {
    auto c = static_cast<unsigned char>(token[i]);
    if (c == '~') {
      if (i + 2 >= token.size()) return std::nullopt;
      int hi = hex_value(token[i + 1]), lo = hex_value(token[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      auto byte = static_cast<unsigned char>(hi * 16 + lo);
      if (keep(byte)) return std::nullopt;  // not canonical: the encoder keeps it as is
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else if (keep(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      return std::nullopt;
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace oaio::mcp
