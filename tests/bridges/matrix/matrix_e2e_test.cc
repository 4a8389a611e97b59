// End-to-end tests of the Matrix bridge: a real host (HostApp) loads matrix.so and
// talks to a real Synapse homeserver (one per test binary, see SynapseEnv); agents are
// handlers on the host's bus. Every assertion is about what a person in the room sees
// (messages, replies, edits) or what an operator sees (bridge state and its detail).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "oaio/call.h"
#include "oaio/subject.h"
#include "support/host_fixture.h"
#include "support/test_util.h"
#include "synapse_fixture.h"

namespace oaio::test {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// One Synapse for the whole binary: it takes tens of seconds to start.
Synapse* g_synapse = nullptr;

class SynapseEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    auto s = Synapse::start();
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    synapse_ = std::move(s).value();
    g_synapse = synapse_.get();
  }
  void TearDown() override {
    g_synapse = nullptr;
    synapse_.reset();
  }

 private:
  std::unique_ptr<Synapse> synapse_;
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new SynapseEnv);

std::string unique(const std::string& base) {
  static std::atomic<int> n{0};
  return base + std::to_string(::getpid() % 10000) + "x" + std::to_string(n++);
}

// A bot account, a human account and a room with both in it.
struct Scene {
  Synapse::Account bot;
  std::unique_ptr<MatrixUser> human;
  std::string room;
};

Scene make_scene(bool bot_joins_now = false) {
  Scene s;
  auto bot = g_synapse->register_user(unique("bot"));
  EXPECT_TRUE(bot.ok()) << bot.status().to_string();
  s.bot = bot.value();
  auto human = g_synapse->register_user(unique("human"));
  EXPECT_TRUE(human.ok()) << human.status().to_string();
  s.human = std::make_unique<MatrixUser>(g_synapse->url(), human.value());
  auto room = s.human->create_room({s.bot.user_id});
  EXPECT_TRUE(room.ok()) << room.status().to_string();
  s.room = room.value();
  if (bot_joins_now) {
    MatrixUser botu(g_synapse->url(), s.bot);
    EXPECT_TRUE(botu.join(s.room).ok());
  }
  return s;
}

std::string matrix_manifest(const std::string& name, const Scene& s, const std::string& extra_config,
                            const std::string& mappings, const std::string& restart = "never") {
  std::string m = "bridges:\n  - name: " + name + "\n    plugin: matrix\n    restart: " + restart +
                  "\n    config:\n"
                  "      homeserver_url: \"" + g_synapse->url() + "\"\n"
                  "      access_token: \"" + s.bot.access_token + "\"\n"
                  "      user_id: \"" + s.bot.user_id + "\"\n"
                  "      room_ids: [\"" + s.room + "\"]\n"
                  "      sync_timeout: 5\n"
                  "      max_backoff_ms: 1000\n";
  m += extra_config;
  if (!mappings.empty()) m += "      mappings:\n" + mappings;
  return m;
}

// The echo agent: answers {"text": "echo: <text>"}.
Subscription serve_echo(Bus& bus, const std::string& target, std::atomic<int>* calls = nullptr,
                        std::chrono::milliseconds delay = 0ms) {
  auto sub = bus.handle_invoke(target, sync_invoke([calls, delay](Call& call) -> Result<Envelope> {
                                 if (calls) calls->fetch_add(1);
                                 if (delay.count() > 0) std::this_thread::sleep_for(delay);
                                 Json p = Json::parse(call.request().payload, nullptr, false);
                                 std::string text = p.is_object() ? p.value("text", "") : "";
                                 return result_payload(Json{{"text", "echo: " + text}}.dump());
                               }));
  EXPECT_TRUE(sub.ok()) << sub.status().to_string();
  return std::move(sub).value();
}

// The bot's messages answering `question_id` (not edits).
std::vector<Json> replies_to(const std::vector<Json>& all, const std::string& question_id) {
  std::vector<Json> out;
  for (const auto& m : all)
    if (!is_edit(m) && reply_to(m) == question_id) out.push_back(m);
  return out;
}

std::unique_ptr<host::HostApp> start_matrix_host(HostDir& dir, const std::string& manifest,
                                                 std::chrono::milliseconds timeout = 20s) {
  dir.add_plugin(built_plugin("matrix"));
  dir.add_manifest("matrix.yaml", manifest);
  return start_host(dir.options(), timeout);
}

// Waits until the bridge has joined and synced: a first message gets its answer.
bool wait_for_reply(MatrixUser& human, const std::string& room, const std::string& question_id,
                    std::chrono::milliseconds timeout = 30s) {
  return wait_until([&] { return !replies_to(human.messages(room), question_id).empty(); }, timeout);
}

// Subscribes to the bus's dead-letter subject for `event_type` (WIRE.md §9), where the
// bridge dead-letters what it could not post; `fn` gets each dead-lettered envelope.
Result<std::unique_ptr<TransportSubscription>> subscribe_dlq(Bus& bus, const std::string& event_type,
                                                            std::function<void(const Envelope&)> fn) {
  auto sub = bus.transport().subscribe(dlq_subject(bus.options().prefix, event_type), {},
                                       [fn = std::move(fn)](const TransportMessage& m) {
                                         auto e = decode_envelope(m.data);
                                         if (e.ok()) fn(e.value());
                                       });
  if (sub.ok()) (void)bus.transport().flush(std::chrono::seconds(5));
  return sub;
}

// True once every question in `qs` has a reply in `room` (waits up to `timeout`).
bool all_answered(MatrixUser& human, const std::string& room, const std::vector<std::string>& qs,
                  std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        auto all = human.messages(room);
        for (const auto& q : qs)
          if (replies_to(all, q).empty()) return false;
        return true;
      },
      timeout);
}

// Sends `text` to `room` until one copy is answered (the bridge skips what was sent
// before its first sync) and returns that question's event id; empty after 60 s.
std::string ask_until_answered(MatrixUser& human, const std::string& room, const std::string& text) {
  std::string answered;
  bool ok = wait_until(
      [&] {
        auto id = human.send_text(room, text);
        return id.ok() && wait_for_reply(human, room, answered = id.value(), 5s);
      },
      60s);
  return ok ? answered : std::string();
}

TEST(MatrixBridgeE2E, HumanMessageReachesEchoAgentAndReplyIsThreadedToIt) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  HostDir dir;
  auto app = start_matrix_host(dir, matrix_manifest("mx-echo", s, "", "        target: echo-agent\n"));
  ASSERT_TRUE(app);
  std::atomic<int> calls{0};
  auto agent = serve_echo(app->connection().default_bus(), "echo-agent", &calls);
  std::mutex mu;
  std::vector<Envelope> events;
  auto events_sub = app->connection().default_bus().subscribe("matrix.message.received", [&](const Envelope& e) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(e);
  });
  ASSERT_TRUE(events_sub.ok());
  // The bridge skips history on first start: a message sent before it syncs may be
  // skipped, so keep asking until one is answered.
  const std::string q = ask_until_answered(*s.human, s.room, "hello bot");
  ASSERT_FALSE(q.empty()) << "no reply from the bridge";
  auto all = s.human->messages(s.room);
  auto replies = replies_to(all, q);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0]["sender"], s.bot.user_id);
  EXPECT_EQ(latest_text(all, replies[0]), "echo: hello bot");

  // The same message was published as a matrix.message.received event.
  std::lock_guard<std::mutex> l(mu);
  const Envelope* ev = nullptr;
  for (const auto& e : events)
    if (Json::parse(e.payload).value("event_id", "") == q) ev = &e;
  ASSERT_NE(ev, nullptr) << events.size() << " events, none for " << q;
  Json p = Json::parse(ev->payload);
  EXPECT_EQ(p["text"], "hello bot");
  EXPECT_EQ(p["room_id"], s.room);
  EXPECT_EQ(p["sender"], s.human->user_id());
  EXPECT_EQ(p["msgtype"], "m.text");
  EXPECT_TRUE(p["origin_server_ts"].is_number_integer());
  EXPECT_TRUE(p.contains("html"));
  EXPECT_EQ(ev->conversation_id, s.room);
  EXPECT_EQ(ev->session_id, "matrix:" + s.room);
  EXPECT_EQ(ev->channel, "matrix");
  // Metadata values are kept as JSON text.
  EXPECT_EQ(Json::parse(ev->metadata.at("matrix.room_id")), s.room);
  EXPECT_EQ(Json::parse(ev->metadata.at("matrix.sender")), s.human->user_id());
  EXPECT_EQ(Json::parse(ev->metadata.at("matrix.event_id")), q);
  EXPECT_EQ(Json::parse(ev->metadata.at("matrix.origin_server_ts")), p["origin_server_ts"]);
  // Nothing the bot posted itself came back as an event.
  for (const auto& e : events) EXPECT_NE(Json::parse(e.payload).value("sender", ""), s.bot.user_id);
}

TEST(MatrixBridgeE2E, ThreadStyleAnswersInTheQuestionsThread) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  HostDir dir;
  auto app = start_matrix_host(dir, matrix_manifest("mx-thread", s, "      reply_style: thread\n      outbound_msgtype: m.notice\n",
                                                    "        target: echo-agent\n"));
  ASSERT_TRUE(app);
  auto agent = serve_echo(app->connection().default_bus(), "echo-agent");
  const std::string q = ask_until_answered(*s.human, s.room, "thread me");
  ASSERT_FALSE(q.empty());
  auto all = s.human->messages(s.room);
  auto replies = replies_to(all, q);
  ASSERT_EQ(replies.size(), 1u);
  const Json& c = replies[0]["content"];
  EXPECT_EQ(c["m.relates_to"]["rel_type"], "m.thread");
  EXPECT_EQ(c["m.relates_to"]["event_id"], q);
  EXPECT_EQ(c["msgtype"], "m.notice");
}

TEST(MatrixBridgeE2E, AutoJoinsAnInvitedRoomAndSkipsItsHistory) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  auto room2 = s.human->create_room();
  ASSERT_TRUE(room2.ok());
  auto old = s.human->send_text(room2.value(), "said before the bot was there");
  ASSERT_TRUE(old.ok());
  HostDir dir;
  std::string m = matrix_manifest("mx-autojoin", s, "", "        target: echo-agent\n");
  m.replace(m.find("room_ids: [\"" + s.room + "\"]"), ("room_ids: [\"" + s.room + "\"]").size(), "room_ids: [\"*\"]");
  auto app = start_matrix_host(dir, m);
  ASSERT_TRUE(app);
  auto agent = serve_echo(app->connection().default_bus(), "echo-agent");
  ASSERT_TRUE(s.human->invite(room2.value(), s.bot.user_id).ok());
  ASSERT_TRUE(wait_until(
      [&] {
        auto [st, body] = s.human->call("GET", "/_matrix/client/v3/rooms/" + matrix::url_escape(room2.value()) +
                                                   "/joined_members");
        return st == 200 && body["joined"].contains(s.bot.user_id);
      },
      30s))
      << "the bot did not join on invite";
  auto q = s.human->send_text(room2.value(), "now you are here");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(wait_for_reply(*s.human, room2.value(), q.value(), 30s));
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(replies_to(s.human->messages(room2.value()), old.value()).empty()) << "history was relayed";
}

TEST(MatrixBridgeE2E, TypingNoticeWhileTheAgentWorks) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  HostDir dir;
  auto app = start_matrix_host(dir, matrix_manifest("mx-typing", s, "", "        target: slow-agent\n"));
  ASSERT_TRUE(app);
  std::atomic<int> calls{0};
  auto sub = app->connection().default_bus().handle_invoke("slow-agent", sync_invoke([&](Call&) -> Result<Envelope> {
    calls++;
    std::this_thread::sleep_for(3s);
    return result_payload(Json{{"text", "done thinking"}}.dump());
  }));
  ASSERT_TRUE(sub.ok());
  // The human's own /sync shows who is typing (m.typing ephemeral events).
  auto [st0, first] = s.human->call("GET", "/_matrix/client/v3/sync?timeout=0");
  ASSERT_EQ(st0, 200);
  std::string since = first["next_batch"];
  std::string q;
  ASSERT_TRUE(wait_until(
      [&] {
        auto id = s.human->send_text(s.room, "think hard");
        if (id.ok()) q = id.value();
        return wait_until([&] { return calls.load() > 0; }, 5s);
      },
      60s));
  bool saw_typing = false;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!saw_typing && std::chrono::steady_clock::now() < deadline) {
    auto [st, body] = s.human->call("GET", "/_matrix/client/v3/sync?timeout=1000&since=" + matrix::url_escape(since));
    if (st != 200) continue;
    since = body["next_batch"];
    auto room = body["rooms"]["join"][s.room];
    if (room.is_null()) continue;
    for (const auto& e : room["ephemeral"]["events"])
      if (e["type"] == "m.typing")
        for (const auto& u : e["content"]["user_ids"])
          if (u == s.bot.user_id) saw_typing = true;
  }
  EXPECT_TRUE(saw_typing) << "no typing notice from the bot while the agent worked";
  ASSERT_TRUE(wait_for_reply(*s.human, s.room, q, 30s));
}

TEST(MatrixBridgeE2E, AgentErrorBecomesOneShortMessageInTheRoom) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  HostDir dir;
  auto app = start_matrix_host(dir, matrix_manifest("mx-err", s, "", "        target: failing-agent\n"));
  ASSERT_TRUE(app);
  auto sub = app->connection().default_bus().handle_invoke(
      "failing-agent", sync_invoke([](Call&) -> Result<Envelope> { return Status::unavailable("model overloaded"); }));
  ASSERT_TRUE(sub.ok());
  const std::string q = ask_until_answered(*s.human, s.room, "are you there?");
  ASSERT_FALSE(q.empty());
  auto all = s.human->messages(s.room);
  auto replies = replies_to(all, q);
  ASSERT_EQ(replies.size(), 1u);
  std::string text = latest_text(all, replies[0]);
  EXPECT_THAT(text, HasSubstr("AGENT_UNAVAILABLE"));
  EXPECT_THAT(text, HasSubstr("model overloaded"));
}

TEST(MatrixBridgeE2E, PasswordLoginAndReplayOfHistoryOnFirstStart) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene(true);
  auto before = s.human->send_text(s.room, "asked before the bridge started");
  ASSERT_TRUE(before.ok());
  HostDir dir;
  std::string m = matrix_manifest("mx-password", s, "      initial_sync_behavior: replay\n      password: \"" +
                                                        s.bot.password + "\"\n",
                                  "        target: echo-agent\n");
  // No access token: log in with the password.
  m.replace(m.find("      access_token:"), m.find('\n', m.find("      access_token:")) - m.find("      access_token:") + 1,
            "");
  // The agent is the example plugin echo_cpp in the same host, so it serves before
  // the bridge has logged in and replays the history.
  dir.add_plugin(built_plugin("echo_cpp"));
  dir.add_manifest("agent.yaml", "bridges:\n  - name: agent\n    plugin: echo_cpp\n    config: {target: echo-agent}\n");
  auto app = start_matrix_host(dir, m);
  ASSERT_TRUE(app);
  ASSERT_TRUE(wait_for_reply(*s.human, s.room, before.value(), 30s)) << "history was not replayed";
  auto all = s.human->messages(s.room);
  EXPECT_EQ(latest_text(all, replies_to(all, before.value()).at(0)), "asked before the bridge started");
}

TEST(MatrixBridgeE2E, StreamingReplyIsOneMessageEditedIntoItsFinalText) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  HostDir dir;
  auto app = start_matrix_host(
      dir, matrix_manifest("mx-stream", s, "", "        target: stream-agent\n        mode: stream\n"));
  ASSERT_TRUE(app);
  auto sub = app->connection().default_bus().handle_stream(
      "stream-agent", sync_stream([](Call&, StreamWriter& w) -> Status {
        if (Status st = w.started(); !st.ok()) return st;
        for (int i = 0; i < 12; ++i) {
          if (Status st = w.delta(Json{{"delta", "word" + std::to_string(i) + " "}}.dump()); !st.ok()) return st;
          std::this_thread::sleep_for(150ms);
        }
        return w.final(Json{{"text", "the whole answer"}}.dump());
      }));
  ASSERT_TRUE(sub.ok());
  std::string q;
  ASSERT_TRUE(wait_until(
      [&] {
        auto id = s.human->send_text(s.room, "tell me a story");
        if (!id.ok()) return false;
        q = id.value();
        return wait_until(
            [&] {
              auto all = s.human->messages(s.room);
              auto r = replies_to(all, q);
              return !r.empty() && latest_text(all, r[0]) == "the whole answer";
            },
            8s);
      },
      60s))
      << "no streamed reply";
  auto all = s.human->messages(s.room);
  auto replies = replies_to(all, q);
  ASSERT_EQ(replies.size(), 1u) << "one message, edited in place";
  std::string reply_id = replies[0]["event_id"];
  int edits = 0;
  for (const auto& m : all)
    if (is_edit(m) && m["content"]["m.relates_to"]["event_id"] == reply_id) ++edits;
  // 12 deltas over ~1.8 s at <= 1 edit / 500 ms: a few edits plus the final, never one per delta.
  EXPECT_GE(edits, 1);
  EXPECT_LE(edits, 6);
}

TEST(MatrixBridgeE2E, OutboundSendIsPostedExactlyOnceWithTwoReplicas) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene(true);
  HostDir dir;
  std::string cfg = "      outbound_queue: \"matrix-outbound.shared\"\n";
  std::string manifest = matrix_manifest("mx-out-a", s, cfg, "");
  std::string second = matrix_manifest("mx-out-b", s, cfg, "");
  manifest += second.substr(second.find("  - name:"));
  auto app = start_matrix_host(dir, manifest);
  ASSERT_TRUE(app);
  ASSERT_EQ(app->supervisor().status().size(), 2u);
  std::atomic<int> dead{0};
  auto dlq = subscribe_dlq(app->connection().default_bus(), "matrix.message.send", [&](const Envelope&) { dead++; });
  ASSERT_TRUE(dlq.ok());
  constexpr int kCount = 10;
  for (int i = 0; i < kCount; ++i) {
    Json p = {{"room_id", s.room}, {"text", "announcement " + std::to_string(i)}};
    ASSERT_TRUE(app->connection().default_bus().publish("matrix.message.send", p.dump()).ok());
  }
  std::map<std::string, int> seen;
  ASSERT_TRUE(wait_until(
      [&] {
        seen.clear();
        for (const auto& m : s.human->messages(s.room))
          if (m["sender"] == s.bot.user_id) seen[m["content"].value("body", "")]++;
        return seen.size() == kCount;
      },
      30s))
      << "got " << seen.size() << " of " << kCount;
  std::this_thread::sleep_for(1s);  // a duplicate would show up by now
  seen.clear();
  for (const auto& m : s.human->messages(s.room))
    if (m["sender"] == s.bot.user_id) seen[m["content"].value("body", "")]++;
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(seen["announcement " + std::to_string(i)], 1) << i;
  EXPECT_EQ(dead.load(), 0);
}

TEST(MatrixBridgeE2E, InvalidOutboundEventIsDeadLettered) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene(true);
  HostDir dir;
  auto app = start_matrix_host(dir, matrix_manifest("mx-dlq", s, "", ""));
  ASSERT_TRUE(app);
  std::mutex mu;
  std::vector<Envelope> dead;
  auto dlq = subscribe_dlq(app->connection().default_bus(), "matrix.message.send", [&](const Envelope& e) {
    std::lock_guard<std::mutex> l(mu);
    dead.push_back(e);
  });
  ASSERT_TRUE(dlq.ok());
  // No text, and a room the bot is not in: neither may vanish silently.
  ASSERT_TRUE(app->connection().default_bus().publish("matrix.message.send", Json{{"room_id", s.room}}.dump()).ok());
  ASSERT_TRUE(app->connection()
                  .default_bus()
                  .publish("matrix.message.send", Json{{"room_id", "!nope:localhost"}, {"text", "hi"}}.dump())
                  .ok());
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return dead.size() == 2;
      },
      30s));
  std::lock_guard<std::mutex> l(mu);
  std::string all_errors;
  for (const auto& e : dead) {
    EXPECT_EQ(e.event_type, "matrix.message.send");  // the event kept whole
    EXPECT_EQ(e.metadata.at("acp.dlq.original_event_type"), "\"matrix.message.send\"");
    for (const auto& [k, v] : e.metadata) all_errors += k + "=" + v + "\n";
  }
  EXPECT_THAT(all_errors, HasSubstr("payload has no text"));
  EXPECT_THAT(all_errors, HasSubstr("M_FORBIDDEN"));
}

TEST(MatrixBridgeE2E, StoppedBridgeResumesAndRelaysEveryMessageExactlyOnce) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  HostDir dir;
  std::string manifest = matrix_manifest("mx-restart", s, "", "        target: echo-agent\n");
  auto app = start_matrix_host(dir, manifest);
  ASSERT_TRUE(app);
  auto agent = std::make_unique<Subscription>(serve_echo(app->connection().default_bus(), "echo-agent"));
  // Make sure the bridge is syncing before the counted traffic starts.
  const std::string probe = ask_until_answered(*s.human, s.room, "probe");
  ASSERT_FALSE(probe.empty());
  std::vector<std::string> questions;
  std::atomic<bool> sending{true};
  std::mutex qmu;
  std::thread sender([&] {
    for (int i = 0; i < 24 && sending.load(); ++i) {
      auto id = s.human->send_text(s.room, "message " + std::to_string(i));
      if (id.ok()) {
        std::lock_guard<std::mutex> l(qmu);
        questions.push_back(id.value());
      }
      std::this_thread::sleep_for(150ms);
    }
  });
  std::this_thread::sleep_for(1200ms);
  agent.reset();
  app.reset();  // graceful stop while messages keep coming
  std::this_thread::sleep_for(1500ms);
  app = start_host(dir.options(), 20s);
  ASSERT_TRUE(app);
  agent = std::make_unique<Subscription>(serve_echo(app->connection().default_bus(), "echo-agent"));
  sender.join();
  std::vector<std::string> qs;
  {
    std::lock_guard<std::mutex> l(qmu);
    qs = questions;
  }
  ASSERT_GE(qs.size(), 20u);
  ASSERT_TRUE(all_answered(*s.human, s.room, qs, 60s))
      << "some messages were never answered";
  std::this_thread::sleep_for(1s);
  auto all = s.human->messages(s.room);
  for (const auto& q : qs) EXPECT_EQ(replies_to(all, q).size(), 1u) << "question " << q;
}

TEST(MatrixBridgeE2E, BridgeRecoversByItselfWhenSynapseRestartsUnderTraffic) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  HostDir dir;
  // Two attempts per write and a slow agent: the answers to the "before" questions are
  // due while the homeserver is down, and outlast a write's own retries, so only the
  // relay keeping them gets them posted.
  auto app = start_matrix_host(dir, matrix_manifest("mx-hs-restart", s, "      max_attempts: 2\n",
                                                    "        target: echo-agent\n"));
  ASSERT_TRUE(app);
  std::atomic<int> calls{0};
  auto agent = serve_echo(app->connection().default_bus(), "echo-agent", &calls, 1500ms);
  ASSERT_FALSE(ask_until_answered(*s.human, s.room, "probe").empty());
  const int probes = calls.load();
  std::vector<std::string> qs;
  for (int i = 0; i < 3; ++i) qs.push_back(s.human->send_text(s.room, "before " + std::to_string(i)).value());
  // Kill once the agent is working on all three: their answers are due during the outage.
  ASSERT_TRUE(wait_until([&] { return calls.load() >= probes + 3; }, 30s));
  g_synapse->kill();
  // The bridge notices and says so.
  EXPECT_TRUE(app->supervisor().wait_for(
      [](const auto& all) { return all[0].state == host::BridgeState::kDegraded; }, 30s));
  std::this_thread::sleep_for(3s);  // longer than the agent's 1.5 s: its answers meet a dead homeserver
  ASSERT_TRUE(g_synapse->start_again().ok());
  for (int i = 0; i < 3; ++i) {
    auto id = s.human->send_text(s.room, "after " + std::to_string(i));
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    qs.push_back(id.value());
  }
  ASSERT_TRUE(all_answered(*s.human, s.room, qs, 60s))
      << "messages around the homeserver restart were not all answered";
  EXPECT_TRUE(app->supervisor().wait_for(
      [](const auto& all) { return all[0].state == host::BridgeState::kRunning; }, 30s));
  auto all = s.human->messages(s.room);
  for (const auto& q : qs) EXPECT_EQ(replies_to(all, q).size(), 1u);
}

TEST(MatrixBridgeE2E, TightRateLimitLosesNothing) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene(true);
  auto admin = g_synapse->register_user(unique("admin"), true);
  ASSERT_TRUE(admin.ok());
  MatrixUser adm(g_synapse->url(), admin.value());
  auto [st, body] = adm.call("POST", "/_synapse/admin/v1/users/" + matrix::url_escape(s.bot.user_id) +
                                         "/override_ratelimit",
                             Json{{"messages_per_second", 1}, {"burst_count", 2}});
  ASSERT_EQ(st, 200) << body.dump();
  HostDir dir;
  auto app = start_matrix_host(dir, matrix_manifest("mx-ratelimit", s, "      max_attempts: 50\n", ""));
  ASSERT_TRUE(app);
  std::atomic<int> dead{0};
  auto dlq = subscribe_dlq(app->connection().default_bus(), "matrix.message.send", [&](const Envelope&) { dead++; });
  ASSERT_TRUE(dlq.ok());
  constexpr int kCount = 8;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kCount; ++i)
    ASSERT_TRUE(app->connection()
                    .default_bus()
                    .publish("matrix.message.send", Json{{"room_id", s.room}, {"text", "burst " + std::to_string(i)}}.dump())
                    .ok());
  std::set<std::string> seen;
  ASSERT_TRUE(wait_until(
      [&] {
        seen.clear();
        for (const auto& m : s.human->messages(s.room))
          if (m["sender"] == s.bot.user_id) seen.insert(m["content"].value("body", ""));
        return seen.size() == kCount;
      },
      60s))
      << "got " << seen.size() << " of " << kCount;
  auto took = std::chrono::steady_clock::now() - t0;
  // 8 messages at 1/s after a burst of 2: the limiter did bite, and was waited out.
  EXPECT_GE(took, 4s);
  EXPECT_EQ(dead.load(), 0);
}

TEST(MatrixBridgeE2E, MentionRequiredRoomIgnoresUnaddressedChatter) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  auto other = g_synapse->register_user(unique("other"));
  ASSERT_TRUE(other.ok());
  MatrixUser human2(g_synapse->url(), other.value());
  ASSERT_TRUE(s.human->invite(s.room, human2.user_id()).ok());
  ASSERT_TRUE(human2.join(s.room).ok());
  HostDir dir;
  std::atomic<int> calls{0};
  auto app = start_matrix_host(
      dir, matrix_manifest("mx-mention", s, "", "        target: echo-agent\n        require_mention: true\n"));
  ASSERT_TRUE(app);
  auto agent = serve_echo(app->connection().default_bus(), "echo-agent", &calls);
  std::string localpart = s.bot.user_id.substr(1, s.bot.user_id.find(':') - 1);
  const std::string addressed = ask_until_answered(*s.human, s.room, localpart + ": what time is it?");
  ASSERT_FALSE(addressed.empty());
  int before = calls.load();
  auto chatter1 = s.human->send_text(s.room, "lunch anyone?");
  auto chatter2 = human2.send_text(s.room, "sure, at noon");
  auto pill = human2.send_text(s.room, "hey you", Json{{"m.mentions", {{"user_ids", {s.bot.user_id}}}}});
  ASSERT_TRUE(chatter1.ok() && chatter2.ok() && pill.ok());
  ASSERT_TRUE(wait_for_reply(*s.human, s.room, pill.value(), 30s)) << "a m.mentions mention is answered";
  std::this_thread::sleep_for(500ms);
  auto all = s.human->messages(s.room);
  EXPECT_TRUE(replies_to(all, chatter1.value()).empty());
  EXPECT_TRUE(replies_to(all, chatter2.value()).empty());
  EXPECT_EQ(calls.load(), before + 1);
}

TEST(MatrixBridgeE2E, GroupMentionRuleAnswersTwoPersonRoomsWithoutMention) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();  // the human and the bot: not a group
  HostDir dir;
  auto app = start_matrix_host(
      dir, matrix_manifest("mx-group", s, "", "        target: echo-agent\n        require_mention: group\n"));
  ASSERT_TRUE(app);
  auto agent = serve_echo(app->connection().default_bus(), "echo-agent");
  const std::string q = ask_until_answered(*s.human, s.room, "no mention needed here");
  ASSERT_FALSE(q.empty());
  // A third person makes it a group: now only addressed messages are answered.
  auto other = g_synapse->register_user(unique("third"));
  ASSERT_TRUE(other.ok());
  MatrixUser third(g_synapse->url(), other.value());
  ASSERT_TRUE(s.human->invite(s.room, third.user_id()).ok());
  ASSERT_TRUE(third.join(s.room).ok());
  std::this_thread::sleep_for(1500ms);  // the bridge's sync sees the new member count
  auto chatter = third.send_text(s.room, "hello all");
  ASSERT_TRUE(chatter.ok());
  std::string localpart = s.bot.user_id.substr(1, s.bot.user_id.find(':') - 1);
  auto addressed = third.send_text(s.room, localpart + ", hello");
  ASSERT_TRUE(addressed.ok());
  ASSERT_TRUE(wait_for_reply(*s.human, s.room, addressed.value(), 30s));
  EXPECT_TRUE(replies_to(s.human->messages(s.room), chatter.value()).empty());
}

// Starts a host (in `dir`) with only the Matrix bridge `name` of scene `s`, and waits
// up to 30 s for that bridge to fail; *failed is then its status. Null when the host
// did not start.
std::unique_ptr<host::HostApp> start_until_failed(HostDir& dir, const Scene& s, const std::string& name,
                                                  host::BridgeStatus* failed) {
  dir.add_plugin(built_plugin("matrix"));
  dir.add_manifest("matrix.yaml", matrix_manifest(name, s, "", ""));
  auto app = host::HostApp::start(dir.options());
  if (!app.ok()) {
    ADD_FAILURE() << app.status().to_string();
    return nullptr;
  }
  app.value()->supervisor().wait_for(
      [](const auto& all) { return all[0].state == host::BridgeState::kFailed; }, 30s);
  *failed = app.value()->supervisor().status()[0];
  return std::move(app).value();
}

TEST(MatrixBridgeE2E, WrongTokenFailsWithClearDetailInsteadOfLooping) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  s.bot.access_token = "syt_not_a_real_token";
  HostDir dir;
  host::BridgeStatus st;
  auto app = start_until_failed(dir, s, "mx-badtoken", &st);
  ASSERT_TRUE(app);
  EXPECT_EQ(st.state, host::BridgeState::kFailed);
  EXPECT_THAT(st.last_error, HasSubstr("M_UNKNOWN_TOKEN"));
  EXPECT_THAT(st.last_error, ::testing::Not(HasSubstr("syt_not_a_real_token")));
  std::this_thread::sleep_for(2s);  // restart: never -> it stays failed, no crash loop
  EXPECT_EQ(app->supervisor().status()[0].state, host::BridgeState::kFailed);
  EXPECT_EQ(app->supervisor().status()[0].restarts, 0);
}

TEST(MatrixBridgeE2E, UnknownRoomFailsWithClearDetail) {
  ASSERT_NE(g_synapse, nullptr);
  Scene s = make_scene();
  s.room = "!doesnotexist:localhost";
  HostDir dir;
  host::BridgeStatus st;
  auto app = start_until_failed(dir, s, "mx-badroom", &st);
  ASSERT_TRUE(app);
  EXPECT_EQ(st.state, host::BridgeState::kFailed);
  EXPECT_THAT(st.last_error, HasSubstr("!doesnotexist:localhost"));
}

}  // namespace
}  // namespace oaio::test
