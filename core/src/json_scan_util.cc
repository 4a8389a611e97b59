// Text-level helpers of json_scan.h: UTF-8 validation (RFC 3629) and integer token
// parsing. Kept apart from the scanner because the encoder uses them too.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "json_scan.h"

namespace oaio::detail {
namespace {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::size_t utf8_sequence_length(std::string_view s) noexcept {
  if (s.empty()) return 0;
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    // E0 needs A0..BF (no overlongs); ED needs 80..9F (no UTF-16 surrogates).
    if (c == 0xE0 && b(1) < 0xA0) return 0;
    if (c == 0xED && b(1) > 0x9F) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    // F0 needs 90..BF (no overlongs); F4 needs 80..8F (nothing above U+10FFFF).
    if (c == 0xF0 && b(1) < 0x90) return 0;
    if (c == 0xF4 && b(1) > 0x8F) return 0;
    return 4;
  }
  return 0;  // 80..C1 (continuation or overlong lead) and F5..FF never start a sequence
}

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    // ASCII runs (nearly every id and name) eight bytes at a time.
    while (i + 8 <= text.size()) {
      std::uint64_t w;
      std::memcpy(&w, text.data() + i, sizeof w);
      if ((w & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= text.size()) break;
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence_length(text.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool parse_uint64(std::string_view token, std::uint64_t* out) noexcept {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : token) {
    if (!is_digit(c)) return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool parse_int64(std::string_view token, std::int64_t* out) noexcept {
  const bool negative = !token.empty() && token[0] == '-';
  std::uint64_t mag = 0;
  if (!parse_uint64(negative ? token.substr(1) : token, &mag)) return false;
  constexpr auto kMax = static_cast<std::uint64_t>(INT64_MAX);
  if (negative) {
    if (mag > kMax + 1) return false;
    *out = mag == kMax + 1 ? INT64_MIN : -static_cast<std::int64_t>(mag);
  } else {
    if (mag > kMax) return false;
    *out = static_cast<std::int64_t>(mag);
  }
  return true;
}

}  // namespace oaio::detail
