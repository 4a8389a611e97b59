// Envelope helpers: frame types (WIRE.md §2), make_envelope, json_quote (checked
// against a byte-at-a-time model of Go's escaping), is_valid_json, metadata accessors.
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oaio/envelope.h"

namespace oaio {
namespace {

using nlohmann::json;

TEST(EnvelopeHelpersTest, FrameTypesAndTerminals) {
  EXPECT_EQ(canonical_frame_type(event_type::kMessageReceived), "request");
  EXPECT_EQ(canonical_frame_type(event_type::kResponseStarted), "response.started");
  EXPECT_EQ(canonical_frame_type(event_type::kResponseDelta), "response.delta");
  EXPECT_EQ(canonical_frame_type(event_type::kResponseFinal), "response.final");
  EXPECT_EQ(canonical_frame_type(event_type::kResponseError), "response.error");
  EXPECT_EQ(canonical_frame_type(event_type::kToolCall), "tool.call");
  EXPECT_EQ(canonical_frame_type(event_type::kToolResult), "tool.result");
  EXPECT_EQ(canonical_frame_type(event_type::kTaskCreated), "");
  EXPECT_EQ(canonical_frame_type(event_type::kTaskCompleted), "");
  EXPECT_EQ(canonical_frame_type(event_type::kResponseHeartbeat), "");
  EXPECT_EQ(canonical_frame_type(event_type::kRequestCancel), "");
  EXPECT_EQ(canonical_frame_type("goc.incident.created"), "");

  EXPECT_TRUE(is_terminal_event_type(event_type::kResponseFinal));
  EXPECT_TRUE(is_terminal_event_type(event_type::kResponseError));
  EXPECT_TRUE(is_terminal_event_type(event_type::kToolResult));
  EXPECT_TRUE(is_terminal_event_type(event_type::kTaskCompleted));
  EXPECT_FALSE(is_terminal_event_type(event_type::kResponseDelta));
  EXPECT_FALSE(is_terminal_event_type(event_type::kToolCall));
  EXPECT_FALSE(is_terminal_event_type(event_type::kResponseHeartbeat));
}

TEST(EnvelopeHelpersTest, MakeEnvelope) {
  Envelope e = make_envelope(event_type::kMessageReceived, R"({"text":"hi"})");
  EXPECT_EQ(e.event_type, event_type::kMessageReceived);
  EXPECT_EQ(e.payload, R"({"text":"hi"})");
  EXPECT_EQ(e.spec_version, "acp/1.0");
  EXPECT_EQ(e.schema_version, 1);
  EXPECT_EQ(e.event_id.size(), 36u);
  EXPECT_TRUE(parse_timestamp(e.occurred_at).has_value());
  EXPECT_NE(make_envelope("x").event_id, e.event_id);
}

TEST(EnvelopeHelpersTest, JsonQuoteAndValidity) {
  EXPECT_EQ(json_quote("a\"b<\n"), R"("a\"b\u003c\n")");
  EXPECT_EQ(json_quote(""), R"("")");
  EXPECT_EQ(json_quote("bad\xFFtail"), "\"bad\xEF\xBF\xBDtail\"");  // U+FFFD like Go, still valid JSON
  EXPECT_TRUE(is_valid_json(json_quote("bad\xFF")));
  EXPECT_TRUE(is_valid_json(" {\"a\":[]} "));
  EXPECT_FALSE(is_valid_json(""));
  EXPECT_FALSE(is_valid_json("{} []"));
}

// A byte-at-a-time model of Go's encoding/json string escaping, for valid UTF-8.
std::string go_quote_model(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else if (c == 0xE2 && s.substr(i, 3) == "\xE2\x80\xA8") {
      out += "\\u2028";
      i += 2;
    } else if (c == 0xE2 && s.substr(i, 3) == "\xE2\x80\xA9") {
      out += "\\u2029";
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

TEST(EnvelopeHelpersTest, EscapingMatchesTheGoModelAtEveryOffset) {
  // The escaper scans 8 bytes at a time: put each special at every offset.
  const std::string specials[] = {"<", ">", "&", "\"", "\\", "\n", "\b", std::string(1, '\0'), "\x1f", "\x7f", "/",
                                  "\xC3\xA9", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAA", "\xF0\x9F\x98\x80"};
  for (std::size_t len = 0; len <= 19; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      for (const auto& sp : specials) {
        std::string s(len, 'x');
        s.insert(at, sp);
        const std::string quoted = json_quote(s);
        ASSERT_EQ(quoted, go_quote_model(s)) << "len " << len << " at " << at;
        ASSERT_EQ(json::parse(quoted).get<std::string>(), s);
      }
    }
  }
}

TEST(EnvelopeHelpersTest, MetadataAccessorsCheckTypes) {
  Metadata m{{"s", R"("a\nb")"}, {"i", "-42"}, {"f", "1.5"}, {"e", "1e2"}, {"b", "false"},
             {"q", R"("7")"}, {"big", "9223372036854775808"}, {"junk", "1 2"}};
  EXPECT_EQ(metadata_string(m, "s"), "a\nb");
  EXPECT_EQ(metadata_string(m, "i"), std::nullopt);
  EXPECT_EQ(metadata_string(m, "missing"), std::nullopt);
  EXPECT_EQ(metadata_int(m, "i"), -42);
  EXPECT_EQ(metadata_int(m, "f"), std::nullopt);
  EXPECT_EQ(metadata_int(m, "e"), std::nullopt);
  EXPECT_EQ(metadata_int(m, "q"), std::nullopt);
  EXPECT_EQ(metadata_int(m, "big"), std::nullopt);
  EXPECT_EQ(metadata_int(m, "junk"), std::nullopt);
  EXPECT_EQ(metadata_bool(m, "b"), false);
  EXPECT_EQ(metadata_bool(m, "s"), std::nullopt);
}

}  // namespace
}  // namespace oaio
