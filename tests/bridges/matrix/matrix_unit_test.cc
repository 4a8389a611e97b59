// Unit tests of the Matrix bridge's pure parts: /sync parsing, mention detection,
// edit throttling, transaction ids, reply text extraction, config, the token store.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "config.h"
#include "edit_throttle.h"
#include "reply_text.h"
#include "sync_parser.h"
#include "sync_token_store.h"
#include "text_rules.h"

namespace oaio::matrix {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

const char kSync[] = R"({
  "next_batch": "s72595_4483_1934",
  "rooms": {
    "join": {
      "!room:example.org": {
        "summary": {"m.joined_member_count": 3},
        "timeline": {"events": [
          {"type": "m.room.message", "event_id": "$1", "sender": "@alice:example.org",
           "origin_server_ts": 1432735824653, "content": {"msgtype": "m.text", "body": "hello",
           "format": "org.matrix.custom.html", "formatted_body": "<b>hello</b>"}},
          {"type": "m.room.member", "event_id": "$2", "sender": "@bob:example.org", "state_key": "@bob:example.org",
           "content": {"membership": "join"}},
          {"type": "m.room.message", "event_id": "$3", "sender": "@bob:example.org", "content": {}},
          {"type": "m.room.message", "event_id": "$4", "sender": "@bob:example.org",
           "content": {"msgtype": "m.text", "body": "* fixed", "m.relates_to": {"rel_type": "m.replace", "event_id": "$1"}}},
          {"type": "m.room.message", "event_id": "$5", "sender": "@bob:example.org",
           "content": {"msgtype": "m.text", "body": "in thread", "m.mentions": {"user_ids": ["@bot:example.org"]},
                       "m.relates_to": {"rel_type": "m.thread", "event_id": "$1"}}},
          "garbage"
        ]}
      }
    },
    "invite": {"!invited:example.org": {"invite_state": {"events": []}}}
  }
})";

TEST(MatrixSyncParser, ExtractsMessagesInvitesAndCounts) {
  SyncBatch b;
  ASSERT_EQ(parse_sync_response(kSync, &b), "");
  EXPECT_EQ(b.next_batch, "s72595_4483_1934");
  ASSERT_EQ(b.messages.size(), 3u);
  EXPECT_EQ(b.messages[0].event_id, "$1");
  EXPECT_EQ(b.messages[0].room_id, "!room:example.org");
  EXPECT_EQ(b.messages[0].sender, "@alice:example.org");
  EXPECT_EQ(b.messages[0].origin_server_ts, 1432735824653);
  EXPECT_EQ(b.messages[0].body, "hello");
  EXPECT_EQ(b.messages[0].formatted_body, "<b>hello</b>");
  EXPECT_TRUE(b.messages[1].is_edit);
  EXPECT_EQ(b.messages[2].thread_root, "$1");
  EXPECT_EQ(b.messages[2].mentioned_user_ids, std::vector<std::string>{"@bot:example.org"});
  EXPECT_EQ(b.skipped_events, 2u);  // the redacted message and the garbage entry
  EXPECT_EQ(b.invites, std::vector<std::string>{"!invited:example.org"});
  EXPECT_EQ(b.joined_member_counts["!room:example.org"], 3);
  ASSERT_EQ(b.joins.size(), 1u);  // bob joined after alice's message
  EXPECT_EQ(b.joins[0].user_id, "@bob:example.org");
  EXPECT_EQ(b.joins[0].messages_before, 1u);
}

TEST(MatrixSyncParser, RejectsWhatIsNotASyncResponse) {
  SyncBatch b;
  EXPECT_NE(parse_sync_response("", &b), "");
  EXPECT_NE(parse_sync_response("[]", &b), "");
  EXPECT_NE(parse_sync_response(R"({"rooms":{}})", &b), "");
  EXPECT_EQ(parse_sync_response(R"({"next_batch":"x","rooms":{"join":[]}})", &b), "");
  EXPECT_TRUE(b.messages.empty());
}

TEST(MatrixSyncParser, FilterLimitsRoomsAndTypes) {
  Json f = Json::parse(make_sync_filter({"!a:x"}, 10));
  EXPECT_EQ(f["room"]["rooms"], Json::array({"!a:x"}));
  EXPECT_EQ(f["room"]["timeline"]["types"], Json::array({"m.room.message", "m.room.member"}));
  EXPECT_EQ(f["room"]["timeline"]["limit"], 10);
  EXPECT_FALSE(Json::parse(make_sync_filter({}, 1))["room"].contains("rooms"));
}

RoomMessage msg(std::string body, std::string html = "") {
  RoomMessage m;
  m.body = std::move(body);
  m.formatted_body = std::move(html);
  return m;
}

TEST(MatrixMentions, DetectsTheBotInTheUsualWays) {
  const std::string bot = "@helper:example.org";
  EXPECT_TRUE(mentions_bot(msg("helper: what time is it?"), bot));
  EXPECT_TRUE(mentions_bot(msg("Hey Helper, ping"), bot));
  EXPECT_TRUE(mentions_bot(msg("ask @helper:example.org"), bot));
  EXPECT_TRUE(mentions_bot(msg("thanks helper."), bot));
  EXPECT_TRUE(mentions_bot(msg("x", "<a href=\"https://matrix.to/#/@helper:example.org\">helper</a>"), bot));
  RoomMessage pill = msg("hi");
  pill.mentioned_user_ids = {bot};
  EXPECT_TRUE(mentions_bot(pill, bot));
  EXPECT_FALSE(mentions_bot(msg("lunch anyone?"), bot));
  EXPECT_FALSE(mentions_bot(msg("the helpers are here"), bot));
  EXPECT_FALSE(mentions_bot(msg("unhelpful"), bot));
  EXPECT_FALSE(mentions_bot(msg("@helper2:example.org hi"), bot));
  EXPECT_FALSE(mentions_bot(msg("helper"), ""));
}

TEST(MatrixEditThrottle, AtMostOneEditPerIntervalPlusTheFinal) {
  EditThrottle t(500ms);
  auto t0 = EditThrottle::Clock::now();
  EXPECT_TRUE(t.may_send(t0));
  t.sent(t0);
  EXPECT_FALSE(t.may_send(t0 + 100ms));
  EXPECT_FALSE(t.may_send(t0 + 499ms));
  EXPECT_EQ(t.next_allowed(t0 + 100ms), t0 + 500ms);
  EXPECT_TRUE(t.may_send(t0 + 500ms));
  EXPECT_EQ(t.next_allowed(t0 + 900ms), t0 + 900ms);
  // 100 deltas 10 ms apart over 1 s: only 2-3 intermediate edits pass.
  EditThrottle u(500ms);
  int sent = 0;
  for (int i = 0; i < 100; ++i) {
    auto now = t0 + std::chrono::milliseconds(10 * i);
    if (u.may_send(now)) {
      u.sent(now);
      ++sent;
    }
  }
  EXPECT_EQ(sent, 2);
}

TEST(MatrixTxnIds, StablePerKeyDistinctAcrossKeysAndUrlSafe) {
  EXPECT_EQ(txn_id("send", "$abc"), txn_id("send", "$abc"));
  EXPECT_NE(txn_id("send", "$abc"), txn_id("send", "$abd"));
  EXPECT_NE(txn_id("send", "$abc"), txn_id("reply", "$abc"));
  for (const auto& id : {txn_id("send", "019de7eb-baab-7e67"), txn_id("we/ird kind", "$x:y/z?")})
    for (char c : id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') << id;
}

TEST(MatrixRecentIds, DedupesWithinCapacity) {
  RecentIds r(3);
  EXPECT_TRUE(r.insert("a"));
  EXPECT_FALSE(r.insert("a"));
  EXPECT_TRUE(r.insert("b"));
  EXPECT_TRUE(r.insert("c"));
  EXPECT_TRUE(r.insert("d"));  // evicts "a"
  EXPECT_FALSE(r.contains("a"));
  EXPECT_TRUE(r.insert("a"));
  EXPECT_EQ(r.size(), 3u);
}

TEST(MatrixReplyText, PicksTheTextOutOfCommonShapes) {
  EXPECT_EQ(final_text(R"({"text":"hi"})"), "hi");
  EXPECT_EQ(final_text(R"({"result":{"content":"hi"}})"), "hi");
  EXPECT_EQ(final_text(R"({"echo":{"text":"hi","room_id":"!r"},"plugin":"echo_cpp"})"), "hi");
  EXPECT_EQ(final_text(R"("plain")"), "plain");
  EXPECT_EQ(final_text(R"({"n":1})"), R"({"n":1})");
  EXPECT_EQ(final_text(""), "");
  EXPECT_EQ(delta_text(R"({"delta":"ab"})"), "ab");
  EXPECT_EQ(delta_text(R"({"data":{}})"), "");
  std::string e = error_text("AGENT_TIMEOUT", std::string(1000, 'x'));
  EXPECT_LT(e.size(), 400u);
  EXPECT_NE(e.find("AGENT_TIMEOUT"), std::string::npos);
}

TEST(MatrixConfig, SeedConfigWorksUnchanged) {
  Config c;
  ASSERT_EQ(parse_config(R"({"homeserver_url":"https://matrix.example/","access_token":"t",
    "user_id":"@bot:matrix.example","room_ids":["!room:matrix.example"],"sync_timeout":30,
    "initial_sync_behavior":"replay","outbound_msgtype":"m.notice",
    "mappings":{"tool":"","text_field":"text","session_field":"session_id","metadata_prefix":"",
                "session_strategy":"room_sender"}})",
                         &c),
            "");
  EXPECT_EQ(c.homeserver_url, "https://matrix.example");
  EXPECT_TRUE(c.replay_history);
  EXPECT_EQ(c.outbound_msgtype, "m.notice");
  EXPECT_EQ(c.session_strategy, SessionStrategy::kRoomSender);
  EXPECT_EQ(c.metadata_prefix, "matrix.");
  EXPECT_TRUE(c.room_allowed("!room:matrix.example"));
  EXPECT_FALSE(c.room_allowed("!other:matrix.example"));
  EXPECT_TRUE(c.route_for("!room:matrix.example").target.empty());
}

TEST(MatrixConfig, RoutesAndErrorsNameTheKeyNotTheSecret) {
  Config c;
  ASSERT_EQ(parse_config(R"({"homeserver_url":"http://h","access_token":"secret-token",
    "mappings":{"target":"agent","mode":"stream","rooms":{"!a:h":{"target":"other","require_mention":"group"}}}})",
                         &c),
            "");
  EXPECT_TRUE(c.all_rooms);
  EXPECT_EQ(c.route_for("!b:h").target, "agent");
  EXPECT_EQ(c.route_for("!b:h").mode, RelayMode::kStream);
  EXPECT_EQ(c.route_for("!a:h").target, "other");
  EXPECT_EQ(c.route_for("!a:h").require_mention, MentionRule::kGroup);
  std::string e = parse_config(R"({"homeserver_url":"ftp://h","access_token":"secret-token"})", &c);
  EXPECT_NE(e.find("homeserver_url"), std::string::npos);
  EXPECT_EQ(e.find("secret-token"), std::string::npos);
  EXPECT_NE(parse_config(R"({"homeserver_url":"http://h"})", &c).find("access_token"), std::string::npos);
  EXPECT_NE(parse_config(R"({"homeserver_url":"http://h","access_token":"t","room_ids":["#alias:h"]})", &c), "");
  EXPECT_NE(parse_config(R"({"homeserver_url":"http://h","access_token":"t","initial_sync_behavior":"all"})", &c), "");
}

TEST(MatrixSyncTokenStore, PersistsAtomicallyAcrossInstances) {
  auto dir = std::filesystem::temp_directory_path() / ("oaio-matrix-token-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    SyncTokenStore s(dir.string());
    EXPECT_EQ(s.load(), "");
    EXPECT_EQ(s.save("s1_2_3"), "");
    EXPECT_EQ(s.save("s4_5_6"), "");
  }
  SyncTokenStore again(dir.string());
  EXPECT_EQ(again.load(), "s4_5_6");
  EXPECT_FALSE(std::filesystem::exists(again.path() + ".tmp"));
  std::filesystem::remove_all(dir);
  SyncTokenStore mem("");
  EXPECT_EQ(mem.save("x"), "");
  EXPECT_EQ(mem.load(), "x");
}

}  // namespace
}  // namespace oaio::matrix
