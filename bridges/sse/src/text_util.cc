#include "text_util.h"

namespace oaio::sse {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if there is none.
std::size_t sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;       // no overlong forms
    if (b0 == 0xED) hi = 0x9F;       // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;       // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;       // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return len;
}

}  // namespace

void append_valid_utf8(std::string& out, std::string_view in) {
  std::size_t i = 0;
  while (i < in.size()) {
    // Copy the longest run of valid sequences at once.
    std::size_t start = i;
    std::size_t len;
    while (i < in.size() && (len = sequence_length(in, i)) != 0) i += len;
    out.append(in.data() + start, i - start);
    if (i < in.size()) {
      out.append(kReplacement);
      ++i;
    }
  }
}

std::string to_valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  append_valid_utf8(out, in);
  return out;
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return text;
}

std::string one_line(std::string_view text, std::size_t max_chars) {
  std::string out;
  bool space = false;
  for (char c : text) {
    bool blank = static_cast<unsigned char>(c) < 0x20 || c == ' ' || c == 0x7F;
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  if (out.size() > max_chars) {
    std::size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out.append("...");
  }
  return to_valid_utf8(out);
}

}  // namespace oaio::sse
