// Go-compatible JSON string escaping (see json_write.h).
#include "json_write.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#include "byte_scan.h"
#include "json_scan.h"

namespace oaio::detail {
namespace {

// 0: copy as is; 1: needs an ASCII escape; 2: non-ASCII, check the sequence.
constexpr std::array<std::uint8_t, 256> make_escape_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  for (int c = 0x80; c < 0x100; ++c) t[c] = 2;
  t['"'] = t['\\'] = t['<'] = t['>'] = t['&'] = 1;
  return t;
}
constexpr std::array<std::uint8_t, 256> kEscapeClass = make_escape_classes();
constexpr char kHex[] = "0123456789abcdef";

// Marks (bit 7 of each byte) the bytes of `w` equal to `c`; exact up to and including
// the lowest marked byte, which is all plain_run() needs.
inline std::uint64_t bytes_equal(std::uint64_t w, unsigned char c) {
  constexpr std::uint64_t k01 = 0x0101010101010101ULL;
  const std::uint64_t x = w ^ (k01 * c);
  return (x - k01) & ~x;
}

// Length of the leading run of `data` that is copied as is (class 0), found 16 bytes
// at a time, then 8; returns n if the whole text is plain.
std::size_t plain_run(const char* data, std::size_t n) {
  std::size_t i = skip_plain_blocks<'"', '\\', '<', '>', '&'>(data, n);
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t k01 = 0x0101010101010101ULL;
    constexpr std::uint64_t k80 = 0x8080808080808080ULL;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, data + i, sizeof w);
      const std::uint64_t special = (((w - k01 * 0x20) & ~w) | bytes_equal(w, '"') | bytes_equal(w, '\\') |
                                     bytes_equal(w, '<') | bytes_equal(w, '>') | bytes_equal(w, '&') | w) & k80;
      if (special != 0) return i + static_cast<std::size_t>(std::countr_zero(special) >> 3);
    }
  }
  while (i < n && kEscapeClass[static_cast<unsigned char>(data[i])] == 0) ++i;
  return i;
}

void append_ascii_escape(unsigned char c, std::string* out) {
  switch (c) {
    case '"': out->append("\\\""); return;
    case '\\': out->append("\\\\"); return;
    case '\b': out->append("\\b"); return;
    case '\f': out->append("\\f"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    case '\t': out->append("\\t"); return;
    default: {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(esc, sizeof esc);
    }
  }
}

}  // namespace

bool append_json_string(std::string_view s, std::string* out, BadUtf8 policy) {
  const std::size_t rollback = out->size();
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  const char* data = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // Copy the longest run that needs no escaping in one go.
    const std::size_t run = i + plain_run(data + i, n - i);
    out->append(data + i, run - i);
    i = run;
    if (i >= n) break;
    const auto c = static_cast<unsigned char>(data[i]);
    if (kEscapeClass[c] == 1) {
      append_ascii_escape(c, out);
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(s.substr(i));
    if (len == 0) {
      if (policy == BadUtf8::kFail) {
        out->resize(rollback);
        return false;
      }
      out->append("\xEF\xBF\xBD");  // U+FFFD, written raw as Go does
      ++i;
      continue;
    }
    // U+2028 / U+2029 (E2 80 A8 / E2 80 A9) end a line in JavaScript, not in JSON;
    // Go escapes them so the output can be embedded in a <script>.
    if (len == 3 && c == 0xE2 && static_cast<unsigned char>(data[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(data[i + 2]) & 0xFE) == 0xA8) {
      out->append(static_cast<unsigned char>(data[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
    } else {
      out->append(data + i, len);
    }
    i += len;
  }
  out->push_back('"');
  return true;
}

}  // namespace oaio::detail
