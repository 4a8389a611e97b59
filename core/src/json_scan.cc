// JsonScanner: strict single-pass RFC 8259 scanning (see json_scan.h for the rules).
#include "json_scan.h"

#include "byte_scan.h"

#include <array>
#include <bit>
#include <cstring>

namespace oaio::detail {
namespace {

// Byte classes inside a string body. Plain bytes are skipped in a tight loop; only
// the others need attention, which keeps the common all-ASCII case cheap.
enum : std::uint8_t { kPlain = 0, kQuote, kBackslash, kControl, kHighBit };

constexpr std::array<std::uint8_t, 256> make_string_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = kControl;
  for (int c = 0x80; c < 0x100; ++c) t[c] = kHighBit;
  t['"'] = kQuote;
  t['\\'] = kBackslash;
  return t;
}
constexpr std::array<std::uint8_t, 256> kStringClass = make_string_classes();

// Finds the first byte that is not kPlain (< 0x20, '"', '\\' or >= 0x80) in `n`
// bytes at `data`: 16 bytes at a time with SSE2, then 8 at a time with the classic
// "has zero / less-than byte" bit tricks: long ASCII strings and short keys alike cost
// a few instructions per word
// instead of a table lookup per byte. The tricks are exact for the lowest flagged
// byte, so the index found is exact. Returns n if every byte is plain.
std::size_t plain_run(const char* data, std::size_t n) {
  std::size_t i = skip_plain_blocks<'"', '\\'>(data, n);
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t k01 = 0x0101010101010101ULL;
    constexpr std::uint64_t k80 = 0x8080808080808080ULL;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, data + i, sizeof w);
      const std::uint64_t quote = w ^ (k01 * '"');
      const std::uint64_t backslash = w ^ (k01 * '\\');
      const std::uint64_t special =
          (((w - k01 * 0x20) & ~w) | ((quote - k01) & ~quote) | ((backslash - k01) & ~backslash) | w) & k80;
      if (special != 0) return i + static_cast<std::size_t>(std::countr_zero(special) >> 3);
    }
  }
  while (i < n && kStringClass[static_cast<unsigned char>(data[i])] == kPlain) ++i;
  return i;
}

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool JsonScanner::fail(const char* what) noexcept {
  if (error_ == nullptr) {
    error_ = what;
    error_pos_ = pos_;
  }
  return false;
}

JsonKind JsonScanner::peek_kind() noexcept {
  skip_ws();
  if (pos_ >= text_.size()) return JsonKind::kEnd;
  switch (text_[pos_]) {
    case '{': return JsonKind::kObject;
    case '[': return JsonKind::kArray;
    case '"': return JsonKind::kString;
    case 't': return JsonKind::kTrue;
    case 'f': return JsonKind::kFalse;
    case 'n': return JsonKind::kNull;
    case '-': return JsonKind::kNumber;
    default: return is_digit(text_[pos_]) ? JsonKind::kNumber : JsonKind::kInvalid;
  }
}

bool JsonScanner::expect(char c) noexcept {
  if (consume(c)) return true;
  switch (c) {
    case '{': return fail("expected '{'");
    case '}': return fail("expected '}'");
    case ':': return fail("expected ':'");
    case ',': return fail("expected ','");
    default: return fail("unexpected character");
  }
}

bool JsonScanner::read_literal(std::string_view word) noexcept {
  skip_ws();
  if (text_.substr(pos_, word.size()) != word) return fail("invalid literal");
  pos_ += word.size();
  return true;
}

bool JsonScanner::read_number(JsonNumber* out) noexcept {
  skip_ws();
  const std::size_t start = pos_;
  const std::size_t n = text_.size();
  *out = JsonNumber{};
  if (pos_ < n && text_[pos_] == '-') {
    out->negative = true;
    ++pos_;
  }
  if (pos_ >= n || !is_digit(text_[pos_])) return fail("invalid number");
  if (text_[pos_] == '0') {
    ++pos_;  // a leading zero stands alone: "01" is two tokens, i.e. invalid here
  } else {
    while (pos_ < n && is_digit(text_[pos_])) ++pos_;
  }
  if (pos_ < n && text_[pos_] == '.') {
    out->has_fraction = true;
    ++pos_;
    if (pos_ >= n || !is_digit(text_[pos_])) return fail("invalid number: digit expected after '.'");
    while (pos_ < n && is_digit(text_[pos_])) ++pos_;
  }
  if (pos_ < n && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    out->has_exponent = true;
    ++pos_;
    if (pos_ < n && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (pos_ >= n || !is_digit(text_[pos_])) return fail("invalid number: digit expected in exponent");
    while (pos_ < n && is_digit(text_[pos_])) ++pos_;
  }
  out->text = text_.substr(start, pos_ - start);
  return true;
}

bool JsonScanner::read_hex4(std::uint32_t* out) noexcept {
  if (pos_ + 4 > text_.size()) return fail("truncated \\u escape");
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    int h = hex_value(text_[pos_ + i]);
    if (h < 0) return fail("invalid hex digit in \\u escape");
    v = (v << 4) | static_cast<std::uint32_t>(h);
  }
  pos_ += 4;
  *out = v;
  return true;
}

// pos_ is on the byte after the backslash.
bool JsonScanner::scan_escape(std::string* decode) noexcept {
  if (pos_ >= text_.size()) return fail("truncated escape");
  char c = text_[pos_++];
  char plain = 0;
  switch (c) {
    case '"': plain = '"'; break;
    case '\\': plain = '\\'; break;
    case '/': plain = '/'; break;
    case 'b': plain = '\b'; break;
    case 'f': plain = '\f'; break;
    case 'n': plain = '\n'; break;
    case 'r': plain = '\r'; break;
    case 't': plain = '\t'; break;
    case 'u': break;
    default: --pos_; return fail("invalid escape");
  }
  if (c != 'u') {
    if (decode) decode->push_back(plain);
    return true;
  }
  std::uint32_t cp = 0;
  if (!read_hex4(&cp)) return false;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate in \\u escape");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    // A high surrogate must be followed at once by an escaped low surrogate.
    if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
      return fail("lone high surrogate in \\u escape");
    }
    pos_ += 2;
    std::uint32_t low = 0;
    if (!read_hex4(&low)) return false;
    if (low < 0xDC00 || low > 0xDFFF) return fail("high surrogate not followed by a low surrogate");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  if (decode) append_utf8(cp, decode);
  return true;
}

bool JsonScanner::scan_utf8(std::string* decode) noexcept {
  std::size_t len = utf8_sequence_length(text_.substr(pos_));
  if (len == 0) return fail("invalid UTF-8 in string");
  if (decode) decode->append(text_.data() + pos_, len);
  pos_ += len;
  return true;
}

bool JsonScanner::scan_string_body(std::string* decode) {
  const std::size_t n = text_.size();
  const char* data = text_.data();
  while (true) {
    // Fast path: a run of plain bytes is found word-wise and copied in one append.
    const std::size_t run = pos_ + plain_run(data + pos_, n - pos_);
    if (decode && run > pos_) decode->append(data + pos_, run - pos_);
    pos_ = run;
    if (pos_ >= n) return fail("unterminated string");
    switch (kStringClass[static_cast<unsigned char>(data[pos_])]) {
      case kQuote: ++pos_; return true;
      case kBackslash:
        ++pos_;
        saw_escape_ = true;
        if (!scan_escape(decode)) return false;
        break;
      case kControl: return fail("control character in string");
      default: if (!scan_utf8(decode)) return false; break;  // kHighBit
    }
  }
}

bool JsonScanner::read_string(std::string* out) {
  out->clear();
  skip_ws();
  if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a string");
  ++pos_;
  return scan_string_body(out);
}

bool JsonScanner::read_raw_string(std::string_view* content, bool* has_escapes) noexcept {
  skip_ws();
  if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a string");
  const std::size_t start = ++pos_;
  saw_escape_ = false;
  // scan_string_body(nullptr) never allocates, so this stays noexcept in practice.
  if (!scan_string_body(nullptr)) return false;
  *content = text_.substr(start, pos_ - 1 - start);
  *has_escapes = saw_escape_;
  return true;
}

bool JsonScanner::begin_object() noexcept {
  if (!expect('{')) return false;
  if (depth_ >= kMaxJsonDepth) return fail("nesting too deep");
  ++depth_;
  in_first_member_ = true;
  return true;
}

// Nested iteration works with the single in_first_member_ flag because a nested
// object's begin_object() always happens after the outer object's current key was
// read, i.e. when the outer flag is already false.
bool JsonScanner::next_member(std::string_view* key, std::string* scratch) {
  const bool first = in_first_member_;
  in_first_member_ = false;
  if (consume('}')) {
    --depth_;
    return false;
  }
  if (!first && !expect(',')) return false;
  bool escaped = false;
  if (!read_raw_string(key, &escaped)) return false;
  if (escaped) {
    // Re-scan the key to decode it; it is already known to be valid.
    pos_ -= key->size() + 2;
    if (!read_string(scratch)) return false;
    *key = *scratch;
  }
  return expect(':');
}

bool JsonScanner::skip_container(int depth) noexcept {
  // pos_ is on the opening bracket.
  const bool is_object = text_[pos_] == '{';
  const char close = is_object ? '}' : ']';
  ++pos_;
  if (consume(close)) return true;
  while (true) {
    if (is_object) {
      bool escaped = false;
      std::string_view key;
      if (!read_raw_string(&key, &escaped)) return false;
      if (!expect(':')) return false;
    }
    if (!skip_value_at(depth + 1, nullptr)) return false;
    if (consume(close)) return true;
    if (!consume(',')) return fail(is_object ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
  }
}

bool JsonScanner::skip_value_at(int depth, std::string_view* raw) noexcept {
  skip_ws();
  const std::size_t start = pos_;
  bool ok = false;
  switch (peek_kind()) {
    case JsonKind::kObject:
    case JsonKind::kArray:
      if (depth >= kMaxJsonDepth) return fail("nesting too deep");
      ok = skip_container(depth);
      break;
    case JsonKind::kString: {
      std::string_view content;
      bool escaped = false;
      ok = read_raw_string(&content, &escaped);
      break;
    }
    case JsonKind::kNumber: {
      JsonNumber num;
      ok = read_number(&num);
      break;
    }
    case JsonKind::kTrue: ok = read_literal("true"); break;
    case JsonKind::kFalse: ok = read_literal("false"); break;
    case JsonKind::kNull: ok = read_literal("null"); break;
    case JsonKind::kEnd: return fail("unexpected end of input");
    case JsonKind::kInvalid: return fail("unexpected character");
  }
  if (ok && raw) *raw = text_.substr(start, pos_ - start);
  return ok;
}

// Values inside an object opened with begin_object() count that object's depth, so a
// payload may nest exactly as deep as is_valid_json_text() allows for the whole text.
bool JsonScanner::skip_value(std::string_view* raw) noexcept { return skip_value_at(depth_, raw); }

bool is_valid_json_text(std::string_view text) noexcept {
  JsonScanner s(text);
  return s.skip_value() && s.at_end();
}

}  // namespace oaio::detail
