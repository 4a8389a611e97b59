// JsonScanner: strict RFC 8259 validation, string decoding, number tokens, object
// iteration and the depth limit. nlohmann::json::accept is the oracle for validity.
#include "json_scan.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace oaio::detail {
namespace {

bool nlohmann_accepts(const std::string& text) { return nlohmann::json::accept(text); }

std::string decode(const std::string& json_string, bool* ok = nullptr) {
  JsonScanner s(json_string);
  std::string out;
  bool good = s.read_string(&out) && s.at_end();
  if (ok) *ok = good;
  return out;
}

TEST(JsonScanTest, AcceptsValidDocumentsLikeNlohmann) {
  const std::vector<std::string> valid = {
      "0", "-0", "1", "-1", "123", "1.5", "-1.5e10", "1E+2", "1e-2", "0.0", "true", "false", "null",
      R"("")", R"("abc")", R"("\"\\\/\b\f\n\r\t")", R"("\u0000")", R"("\uD83D\uDE00")", R"("\ud83d\ude00")",
      "\"\xE6\xAD\xA3\"", "\"\xF0\x9F\x98\x80\"", "\"\x7F\"", "[]", "{}", " [ 1 , 2 ] ", "\t{\r\n\"a\" : [ {} ] }\n",
      R"({"a":{"b":{"c":[1,{"d":null}]}}})", R"({"a":1,"a":2})", "[[[]]]", "18446744073709551616"};
  for (const auto& text : valid) {
    EXPECT_TRUE(is_valid_json_text(text)) << text;
    EXPECT_TRUE(nlohmann_accepts(text)) << "oracle disagrees: " << text;
  }
}

TEST(JsonScanTest, RejectsInvalidDocumentsLikeNlohmann) {
  const std::vector<std::string> invalid = {
      "", " ", "01", "-01", "+1", ".5", "1.", "1e", "1e+", "-", "--1", "0x10", "NaN", "Infinity", "tru", "nul",
      "True", "'a'", R"("abc)", R"("\x")", R"("\u12")", R"("\u12G4")", "[1,]", "[,1]", R"({"a":1,})", R"({"a"})",
      R"({a:1})", R"({"a":1 "b":2})", "[1 2]", "[", "{", "]", "}", "1 2", "{} {}", "[] x", "// c\n1", "/* c */ 1",
      // Control characters must be escaped inside strings.
      std::string("\"a\nb\""), std::string("\"\x01\""), std::string("\"a\0b\"", 5),
      // Lone surrogates in escapes.
      R"("\uD800")", R"("\uDC00")", R"("\uD800\u0041")", R"("\uD800x")", R"("\uDBFF\uDBFF")",
      // Invalid UTF-8: stray continuation, overlong, encoded surrogate, > U+10FFFF, truncated, F5+.
      "\"\x80\"", "\"\xC0\x80\"", "\"\xC1\xBF\"", "\"\xE0\x80\xAF\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"",
      "\"\xF0\x8F\xBF\xBF\"", "\"\xE6\xAD\"", "\"\xF5\x80\x80\x80\"", "\"\xFF\"",
      // Whitespace that RFC 8259 does not allow.
      "\v1", "\f1", "\xC2\xA0" "1"};
  for (const auto& text : invalid) {
    EXPECT_FALSE(is_valid_json_text(text)) << text;
    EXPECT_FALSE(nlohmann_accepts(text)) << "oracle disagrees: " << text;
  }
}

// The one grammar-level difference from the oracle: nlohmann refuses numbers that
// overflow a double ("number overflow"). RFC 8259 §6 allows them and so do Go's
// json.Valid and a json.RawMessage payload, and the codec never converts numbers, so
// the scanner accepts them. The fuzz target allows for this case.
TEST(JsonScanTest, AcceptsNumbersBeyondDoubleRangeUnlikeNlohmann) {
  EXPECT_TRUE(is_valid_json_text("1e400"));
  EXPECT_TRUE(is_valid_json_text("-1E+99999"));
  EXPECT_FALSE(nlohmann_accepts("1e400"));
}

TEST(JsonScanTest, DepthLimit) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(is_valid_json_text(nested(kMaxJsonDepth)));
  EXPECT_FALSE(is_valid_json_text(nested(kMaxJsonDepth + 1)));
  // Deep hostile input fails cleanly instead of overflowing the stack.
  EXPECT_FALSE(is_valid_json_text(std::string(1'000'000, '[')));
  const std::string too_deep = nested(kMaxJsonDepth + 1);
  JsonScanner s(too_deep);
  EXPECT_FALSE(s.skip_value());
  EXPECT_STREQ(s.error(), "nesting too deep");
  EXPECT_EQ(s.error_pos(), static_cast<std::size_t>(kMaxJsonDepth));
}

TEST(JsonScanTest, DecodesEveryEscape) {
  EXPECT_EQ(decode(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(decode(R"("\u0041\u00e9\u6B63")"), "A\xC3\xA9\xE6\xAD\xA3");
  EXPECT_EQ(decode(R"("\u003c\u003e\u0026\u2028")"), "<>&\xE2\x80\xA8");
  EXPECT_EQ(decode(R"("\ud83d\ude00!")"), "\xF0\x9F\x98\x80!");   // surrogate pair -> U+1F600
  EXPECT_EQ(decode(R"("\uDBFF\uDFFF")"), "\xF4\x8F\xBF\xBF");     // U+10FFFF
  EXPECT_EQ(decode(R"("\u0000")"), std::string("\0", 1));
  EXPECT_EQ(decode("\"raw \xE6\xAD\xA3 text\""), "raw \xE6\xAD\xA3 text");
  bool ok = true;
  decode(R"("\uDE00\uD83D")", &ok);  // pair in the wrong order
  EXPECT_FALSE(ok);
}

TEST(JsonScanTest, SkipValueReturnsTheRawSpan) {
  JsonScanner s(R"(  {"a" : [1, "x\n"] }  ,  -2.5e3 )");
  std::string_view raw;
  ASSERT_TRUE(s.skip_value(&raw));
  EXPECT_EQ(raw, R"({"a" : [1, "x\n"] })");
  ASSERT_TRUE(s.consume(','));
  ASSERT_TRUE(s.skip_value(&raw));
  EXPECT_EQ(raw, "-2.5e3");
  EXPECT_TRUE(s.at_end());
}

TEST(JsonScanTest, ReadRawStringReportsEscapes) {
  JsonScanner s(R"("plain" "with\ttab")");
  std::string_view content;
  bool escaped = true;
  ASSERT_TRUE(s.read_raw_string(&content, &escaped));
  EXPECT_EQ(content, "plain");
  EXPECT_FALSE(escaped);
  ASSERT_TRUE(s.read_raw_string(&content, &escaped));
  EXPECT_EQ(content, R"(with\ttab)");
  EXPECT_TRUE(escaped);
}

TEST(JsonScanTest, NumberTokens) {
  JsonScanner s("-12.5e+3 7 1E2");
  JsonNumber n;
  ASSERT_TRUE(s.read_number(&n));
  EXPECT_EQ(n.text, "-12.5e+3");
  EXPECT_TRUE(n.negative);
  EXPECT_TRUE(n.has_fraction);
  EXPECT_TRUE(n.has_exponent);
  EXPECT_FALSE(n.is_integer());
  ASSERT_TRUE(s.read_number(&n));
  EXPECT_EQ(n.text, "7");
  EXPECT_TRUE(n.is_integer());
  EXPECT_FALSE(n.negative);
  ASSERT_TRUE(s.read_number(&n));
  EXPECT_TRUE(n.has_exponent);
  EXPECT_FALSE(n.has_fraction);
}

TEST(JsonScanTest, ParseIntegers) {
  std::uint64_t u = 0;
  EXPECT_TRUE(parse_uint64("0", &u));
  EXPECT_EQ(u, 0u);
  EXPECT_TRUE(parse_uint64("18446744073709551615", &u));
  EXPECT_EQ(u, UINT64_MAX);
  EXPECT_FALSE(parse_uint64("18446744073709551616", &u));
  EXPECT_FALSE(parse_uint64("99999999999999999999", &u));
  EXPECT_FALSE(parse_uint64("-1", &u));
  EXPECT_FALSE(parse_uint64("-0", &u));
  EXPECT_FALSE(parse_uint64("01", &u));
  EXPECT_FALSE(parse_uint64("", &u));
  EXPECT_FALSE(parse_uint64("1.0", &u));
  EXPECT_FALSE(parse_uint64(" 1", &u));

  std::int64_t i = 0;
  EXPECT_TRUE(parse_int64("-9223372036854775808", &i));
  EXPECT_EQ(i, INT64_MIN);
  EXPECT_TRUE(parse_int64("9223372036854775807", &i));
  EXPECT_EQ(i, INT64_MAX);
  EXPECT_TRUE(parse_int64("-42", &i));
  EXPECT_EQ(i, -42);
  EXPECT_FALSE(parse_int64("9223372036854775808", &i));
  EXPECT_FALSE(parse_int64("-9223372036854775809", &i));
  EXPECT_FALSE(parse_int64("-", &i));
}

TEST(JsonScanTest, ObjectIterationDecodesKeys) {
  JsonScanner s(R"({ "a" : 1 , "\u0062" : {"inner": true}, "c": [] })");
  std::string scratch;
  std::string_view key;
  std::vector<std::string> keys;
  ASSERT_TRUE(s.begin_object());
  while (s.next_member(&key, &scratch)) {
    keys.emplace_back(key);
    if (key == "b") {
      // Nested iteration with the same scanner.
      ASSERT_TRUE(s.begin_object());
      std::string_view inner;
      ASSERT_TRUE(s.next_member(&inner, &scratch));
      EXPECT_EQ(inner, "inner");
      ASSERT_TRUE(s.read_literal("true"));
      EXPECT_FALSE(s.next_member(&inner, &scratch));
      ASSERT_FALSE(s.failed());
    } else {
      ASSERT_TRUE(s.skip_value());
    }
  }
  EXPECT_FALSE(s.failed()) << s.error();
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(s.at_end());
}

TEST(JsonScanTest, ObjectIterationRejectsTrailingComma) {
  JsonScanner s(R"({"a":1,})");
  std::string scratch;
  std::string_view key;
  ASSERT_TRUE(s.begin_object());
  ASSERT_TRUE(s.next_member(&key, &scratch));
  ASSERT_TRUE(s.skip_value());
  EXPECT_FALSE(s.next_member(&key, &scratch));
  EXPECT_TRUE(s.failed());
}

TEST(JsonScanTest, ErrorsCarryPositionAndReason) {
  JsonScanner s(R"({"a": "x\q"})");
  EXPECT_FALSE(s.skip_value());
  EXPECT_STREQ(s.error(), "invalid escape");
  EXPECT_EQ(s.error_pos(), 9u);
}

TEST(JsonScanTest, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("ascii"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9\xE6\xAD\xA3\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));  // U+DFFF encoded directly
  EXPECT_FALSE(is_valid_utf8("a\xBF"));
  EXPECT_EQ(utf8_sequence_length("\xE2\x80\xA8rest"), 3u);
  EXPECT_EQ(utf8_sequence_length("A"), 1u);
  EXPECT_EQ(utf8_sequence_length("\xE2\x80"), 0u);
  EXPECT_EQ(utf8_sequence_length(""), 0u);
}

// The string scanner checks 8 bytes at a time; put every kind of special byte at
// every offset around the word boundaries and compare with the oracle.
TEST(JsonScanTest, SpecialBytesAtEveryOffsetMatchTheOracle) {
  const std::vector<std::string> specials = {"\\\"", "\\\\", "\\n", "\\u00e9", "\n", std::string(1, '\0'), "\x1f", "\x7f",
                                             " ", "\xC3\xA9", "\xE2\x80\xA8", "\xF0\x9F\x98\x80", "\x80", "\xC3",
                                             "\xFF", "\\", "\"", "<", "~"};
  for (std::size_t len = 0; len <= 20; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      for (const auto& sp : specials) {
        std::string body(len, 'a');
        body.insert(at, sp);
        const std::string text = "\"" + body + "\"";
        const bool oracle = nlohmann_accepts(text);
        bool ok = false;
        const std::string got = decode(text, &ok);
        ASSERT_EQ(ok, oracle) << "len " << len << " at " << at << " special " << sp;
        ASSERT_EQ(is_valid_json_text(text), oracle);
        if (ok) {
          ASSERT_EQ(got, nlohmann::json::parse(text).get<std::string>());
        }
      }
    }
  }
}

TEST(JsonScanTest, PeekKind) {
  JsonScanner s("  x");
  EXPECT_EQ(s.peek_kind(), JsonKind::kInvalid);
  EXPECT_EQ(JsonScanner("").peek_kind(), JsonKind::kEnd);
  EXPECT_EQ(JsonScanner(" -1").peek_kind(), JsonKind::kNumber);
  EXPECT_EQ(JsonScanner("\"").peek_kind(), JsonKind::kString);
}

}  // namespace
}  // namespace oaio::detail
