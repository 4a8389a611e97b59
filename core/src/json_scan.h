// JsonScanner: a small, strict RFC 8259 scanner over one byte buffer, used by the
// envelope codec instead of a DOM. The codec must keep payload and metadata values as
// their raw JSON text (WIRE.md §1.5.6) and decodes on the hot path of every message,
// so it needs one pass, no tree and no allocation beyond the decoded strings.
//
// Strictness: exactly RFC 8259 (no comments, no trailing commas, no NaN, no leading
// '+' or zeros), strings must be valid UTF-8 (RFC 3629: no overlongs, no encoded
// surrogates, nothing above U+10FFFF), raw control characters inside strings are
// rejected, and a \u escape of a lone UTF-16 surrogate is rejected. Nesting deeper
// than kMaxJsonDepth is rejected so hostile input cannot exhaust the stack.
//
// Thread-safety: a JsonScanner is used by one thread at a time; the free functions
// are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace oaio::detail {

// Arrays and objects nested deeper than this are rejected (the top-level value is
// depth 1). Far above anything a real envelope carries, far below the stack limit.
inline constexpr int kMaxJsonDepth = 512;

// A number token as written, plus the facts the codec needs to classify it.
struct JsonNumber {
  std::string_view text;     // the whole token, e.g. "-12.5e3"
  bool negative = false;     // leading '-'
  bool has_fraction = false; // contains '.'
  bool has_exponent = false; // contains 'e' or 'E'
  bool is_integer() const noexcept { return !has_fraction && !has_exponent; }
};

// The kind of JSON value that starts at the cursor, decided from its first byte.
enum class JsonKind : std::uint8_t { kEnd, kObject, kArray, kString, kNumber, kTrue, kFalse, kNull, kInvalid };

class JsonScanner {
 public:
  // The scanner borrows `text`; it must outlive the scanner and every view returned.
  // `open_depth` counts containers that will surround `text` once it is embedded in
  // a larger document (e.g. 1 for an envelope payload), so that a value accepted here
  // stays within kMaxJsonDepth there.
  explicit JsonScanner(std::string_view text, int open_depth = 0) noexcept : text_(text), depth_(open_depth) {}

  // The current byte offset into the text.
  std::size_t pos() const noexcept { return pos_; }
  // True when only whitespace remains (skips it).
  bool at_end() noexcept {
    skip_ws();
    return pos_ >= text_.size();
  }
  // Skips JSON whitespace (space, tab, LF, CR). Inline: it runs before every token.
  void skip_ws() noexcept {
    while (pos_ < text_.size() && is_ws(text_[pos_])) ++pos_;
  }
  // Skips whitespace and reports what kind of value starts next, without consuming it.
  JsonKind peek_kind() noexcept;
  // Skips whitespace; if the next byte is `c`, consumes it and returns true.
  // Otherwise returns false and consumes nothing (no error is recorded).
  bool consume(char c) noexcept {
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // Like consume() but records an error ("expected ':'", ...) on failure.
  bool expect(char c) noexcept;

  // Skips whitespace, then validates and consumes one complete value of any kind.
  // On success *raw (if given) is the value's exact bytes, without surrounding
  // whitespace. On failure returns false with error() set; the position is then
  // unspecified.
  bool skip_value(std::string_view* raw = nullptr) noexcept;

  // Skips whitespace, then consumes one string. On success *out holds the decoded
  // UTF-8 text (all escapes resolved, surrogate pairs combined); *out is replaced,
  // not appended to. Fails on a non-string, bad escapes, lone surrogates, invalid
  // UTF-8 or raw control characters.
  bool read_string(std::string* out);
  // Skips whitespace, then consumes one string without decoding it: *content is the
  // bytes between the quotes (validated exactly like read_string) and *has_escapes
  // says whether it contains a backslash. When it does not, *content IS the decoded
  // value, which lets callers avoid a copy (object keys, short fields).
  bool read_raw_string(std::string_view* content, bool* has_escapes) noexcept;

  // Skips whitespace, then consumes one number token (RFC 8259 grammar) into *out.
  bool read_number(JsonNumber* out) noexcept;
  // Skips whitespace, then consumes a `true`, `false` or `null` literal equal to `word`.
  bool read_literal(std::string_view word) noexcept;

  // Object iteration. begin_object() consumes '{'. next_member() is then called
  // repeatedly: it returns true with *key set (decoded, using *scratch when the key
  // has escapes) and the cursor before the member's value, or false at the closing
  // '}' (consumed) or on error (check failed()). After a member the caller must
  // consume the value before calling next_member() again. Open objects count
  // towards kMaxJsonDepth for the values skipped inside them.
  bool begin_object() noexcept;
  bool next_member(std::string_view* key, std::string* scratch);

  // True once any call has failed.
  bool failed() const noexcept { return error_ != nullptr; }
  // What went wrong (a static string, e.g. "invalid escape"), or nullptr.
  const char* error() const noexcept { return error_; }
  // The byte offset where the error was detected.
  std::size_t error_pos() const noexcept { return error_pos_; }

 private:
  // RFC 8259 whitespace; nothing else (no \v, \f or Unicode spaces).
  static constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  // Records the first error (`what` must be a static string) and its position;
  // always returns false so callers can `return fail("...")`.
  bool fail(const char* what) noexcept;
  // skip_value() with `depth` containers already open around the value.
  bool skip_value_at(int depth, std::string_view* raw) noexcept;
  // Skips the array or object whose opening bracket is at pos_, `depth` levels deep.
  bool skip_container(int depth) noexcept;
  // Scans a string body starting after the opening quote; leaves pos_ after the
  // closing quote. `decode` (if not null) receives the decoded text (appended).
  // Sets saw_escape_ when the body contains a backslash.
  bool scan_string_body(std::string* decode);
  // Handles one escape; pos_ is just past the backslash. Combines a \u surrogate
  // pair into one code point and rejects a lone surrogate.
  bool scan_escape(std::string* decode) noexcept;
  // Validates (and copies into `decode`) one multi-byte UTF-8 sequence at pos_.
  bool scan_utf8(std::string* decode) noexcept;
  // Reads the four hex digits of a \u escape at pos_.
  bool read_hex4(std::uint32_t* out) noexcept;

  std::string_view text_;
  std::size_t pos_ = 0;
  const char* error_ = nullptr;
  std::size_t error_pos_ = 0;
  bool in_first_member_ = false;  // next_member(): no ',' before the first key
  bool saw_escape_ = false;       // set by scan_string_body()
  int depth_ = 0;                 // open_depth + objects opened by begin_object() and not yet closed
};

// True if `text` is exactly one valid JSON value, optionally surrounded by whitespace.
bool is_valid_json_text(std::string_view text) noexcept;

// True if `text` is well-formed UTF-8 per RFC 3629 (as required of every JSON string).
bool is_valid_utf8(std::string_view text) noexcept;

// Length in bytes of the valid UTF-8 sequence starting at text[0], or 0 when the
// bytes there are not a valid sequence (or text is empty). 1 for ASCII.
std::size_t utf8_sequence_length(std::string_view text) noexcept;

// Parses the text of an integer number token (no fraction/exponent; optional '-').
// parse_uint64 fails on '-' (even "-0") and on overflow; parse_int64 fails on overflow.
// Neither accepts whitespace, '+' or leading zeros beyond a lone "0".
bool parse_uint64(std::string_view token, std::uint64_t* out) noexcept;
bool parse_int64(std::string_view token, std::int64_t* out) noexcept;

}  // namespace oaio::detail
