// SseParser against the WHATWG event-stream rules, with every stream fed whole, byte
// by byte, and split at every possible point (once and twice), which must all give
// the same events.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sse_parser.h"

namespace oaio::sse {
namespace {

struct Ev {
  std::string type, data, id;
  bool operator==(const Ev& o) const { return type == o.type && data == o.data && id == o.id; }
};
std::ostream& operator<<(std::ostream& os, const Ev& e) {
  return os << "{type=" << e.type << " data=" << e.data << " id=" << e.id << "}";
}

struct Parsed {
  std::vector<Ev> events;
  bool cut = false;
  std::string error;
  std::optional<std::uint32_t> retry;
  std::uint64_t comments = 0;
};

Parsed parse_chunks(const std::vector<std::string>& chunks, std::size_t max = SseParser::kDefaultMaxEventBytes) {
  SseParser p(max);
  Parsed out;
  for (const auto& c : chunks) {
    bool ok = p.feed(c, [&](const SseEvent& e) {
      out.events.push_back(Ev{std::string(e.type), std::string(e.data), std::string(e.id)});
      return true;
    });
    if (!ok) break;
  }
  out.error = p.error();
  out.cut = p.finish();
  out.retry = p.retry_ms();
  out.comments = p.comment_count();
  return out;
}

// Checks that every way of cutting `stream` into 1, 2 or 3 pieces, and byte by byte,
// parses like the whole.
void expect_split_invariant(const std::string& stream, const std::vector<Ev>& expected) {
  Parsed whole = parse_chunks({stream});
  EXPECT_EQ(whole.events, expected) << "whole stream";
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  Parsed by_byte = parse_chunks(bytes);
  EXPECT_EQ(by_byte.events, expected) << "byte by byte";
  EXPECT_EQ(by_byte.cut, whole.cut);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    Parsed two = parse_chunks({stream.substr(0, i), stream.substr(i)});
    ASSERT_EQ(two.events, expected) << "split at " << i;
    ASSERT_EQ(two.cut, whole.cut) << "split at " << i;
    ASSERT_EQ(two.retry, whole.retry) << "split at " << i;
    for (std::size_t j = i; j <= stream.size() && stream.size() <= 200; ++j) {
      Parsed three = parse_chunks({stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)});
      ASSERT_EQ(three.events, expected) << "split at " << i << " and " << j;
    }
  }
}

TEST(SseParser, SimpleEventsWithLf) {
  expect_split_invariant("data: hello\n\ndata: world\n\n", {{"message", "hello", ""}, {"message", "world", ""}});
}

TEST(SseParser, CrLfAndCrLineEnds) {
  expect_split_invariant("data: a\r\n\r\ndata: b\r\rdata: c\n\n", {{"message", "a", ""}, {"message", "b", ""}, {"message", "c", ""}});
}

TEST(SseParser, CrAtChunkEndFollowedByLfIsOneLineEnd) {
  // "data: x\r" | "\n\r\n": if the LF were taken as a second line end, the event would
  // be dispatched early but the same; this stream tells them apart.
  Parsed p = parse_chunks({"data: x\r", "\ndata: y\r", "\n\r", "\n"});
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "x\ny");
}

TEST(SseParser, MultiLineDataAndFieldsWithoutSpace) {
  expect_split_invariant("data:first\ndata: second\ndata\ndata:  two spaces\n\n",
                         {{"message", "first\nsecond\n\n two spaces", ""}});
}

TEST(SseParser, EventTypeIdAndPersistentId) {
  expect_split_invariant("event: ping\nid: 7\ndata: {}\n\ndata: next\n\nid\ndata: cleared\n\n",
                         {{"ping", "{}", "7"}, {"message", "next", "7"}, {"message", "cleared", ""}});
}

TEST(SseParser, IdWithNulIsIgnored) {
  std::string s = "id: 1\ndata: a\n\nid: 2";
  s.push_back('\0');
  s += "x\ndata: b\n\n";
  expect_split_invariant(s, {{"message", "a", "1"}, {"message", "b", "1"}});
}

TEST(SseParser, CommentsAndKeepAlives) {
  std::string s = ": keep-alive\n\n:\ndata: x\n: between\n\n: ping\n\n";
  expect_split_invariant(s, {{"message", "x", ""}});
  EXPECT_EQ(parse_chunks({s}).comments, 4u);
}

TEST(SseParser, EventWithoutDataIsNotDispatched) {
  expect_split_invariant("event: lonely\n\ndata: after\n\n", {{"message", "after", ""}});
}

TEST(SseParser, EmptyDataIsDispatched) {
  expect_split_invariant("data\n\ndata:\n\n", {{"message", "", ""}, {"message", "", ""}});
}

TEST(SseParser, RetryOnlyWithDigits) {
  Parsed p = parse_chunks({"retry: 1500\n\nretry: 12x\n\nretry: -5\n\n"});
  ASSERT_TRUE(p.retry.has_value());
  EXPECT_EQ(*p.retry, 1500u);
  expect_split_invariant("retry: 3000\ndata: r\n\n", {{"message", "r", ""}});
}

TEST(SseParser, UnknownFieldsIgnored) {
  expect_split_invariant("foo: bar\ndata: ok\nbaz\n\n", {{"message", "ok", ""}});
}

TEST(SseParser, LeadingBomSkippedOnlyAtStart) {
  std::string bom = "\xEF\xBB\xBF";
  expect_split_invariant(bom + "data: a\n\n", {{"message", "a", ""}});
  // A second BOM is not skipped: it makes the field name unknown.
  expect_split_invariant(bom + bom + "data: a\n\ndata: b\n\n", {{"message", "b", ""}});
  // A partial BOM is ordinary (invalid UTF-8) bytes.
  expect_split_invariant("\xEF\xBB" "data: a\n\ndata: b\n\n", {{"message", "b", ""}});
}

TEST(SseParser, MultiByteUtf8SplitAcrossReads) {
  // 2-, 3- and 4-byte sequences; every split point cuts some of them.
  expect_split_invariant("data: h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\n\n",
                         {{"message", "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80", ""}});
}

TEST(SseParser, InvalidUtf8BecomesReplacementCharacter) {
  expect_split_invariant("data: a\xFF" "b\xC3\n\n", {{"message", "a\xEF\xBF\xBD" "b\xEF\xBF\xBD", ""}});
}

TEST(SseParser, OpenAiStreamWithDoneAndUsageChunk) {
  std::string s =
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      ": OPENROUTER PROCESSING\n\n"
      "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"total_tokens\":3}}\n\n"
      "data: [DONE]\n\n";
  expect_split_invariant(s, {{"message", "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}", ""},
                             {"message", "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"total_tokens\":3}}", ""},
                             {"message", "[DONE]", ""}});
}

TEST(SseParser, UnterminatedEventIsReportedAndDropped) {
  Parsed p = parse_chunks({"data: complete\n\ndata: cut off"});
  EXPECT_EQ(p.events, (std::vector<Ev>{{"message", "complete", ""}}));
  EXPECT_TRUE(p.cut);
  Parsed q = parse_chunks({"data: complete\n\ndata: no blank line\n"});
  EXPECT_EQ(q.events.size(), 1u);
  EXPECT_TRUE(q.cut);
  EXPECT_FALSE(parse_chunks({"data: x\n\n"}).cut);
}

TEST(SseParser, EventOverTheLimitFailsClearly) {
  std::string big(5000, 'x');
  Parsed p = parse_chunks({"data: small\n\n", "data: " + big.substr(0, 2000), big.substr(2000) + "\n\n", "data: never\n\n"},
                          4096);
  EXPECT_EQ(p.events.size(), 1u);
  EXPECT_NE(p.error.find("limit of 4096 bytes"), std::string::npos) << p.error;
  // Many data lines that each fit still count together.
  std::string many;
  for (int i = 0; i < 100; ++i) many += "data: " + std::string(100, 'y') + "\n";
  Parsed q = parse_chunks({many + "\n"}, 4096);
  EXPECT_TRUE(q.events.empty());
  EXPECT_FALSE(q.error.empty());
}

TEST(SseParser, CallbackCanStop) {
  SseParser p;
  int n = 0;
  EXPECT_FALSE(p.feed("data: 1\n\ndata: 2\n\n", [&](const SseEvent&) {
    ++n;
    return false;
  }));
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(p.failed());
}

TEST(SseParser, ReusableAfterFinishKeepsLastEventId) {
  SseParser p;
  std::vector<std::string> ids;
  auto fn = [&](const SseEvent& e) {
    ids.emplace_back(e.id);
    return true;
  };
  p.feed("id: 41\ndata: a\n\ndata: cut", fn);
  EXPECT_TRUE(p.finish());
  EXPECT_EQ(p.last_event_id(), "41");
  p.feed("\xEF\xBB\xBF" "data: b\n\n", fn);  // a new stream may start with a BOM
  EXPECT_EQ(ids, (std::vector<std::string>{"41", "41"}));
}

}  // namespace
}  // namespace oaio::sse
