// Relay benchmark of the Matrix bridge (issue 5), against a real Synapse with rate
// limits off and an instant echo agent on the in-process bus. Not a ctest entry (it
// takes a minute or two); run it by hand:
//   ninja -C build matrix_relay_bench && build/tests/bridges/matrix/matrix_relay_bench
// Measures:
//   - relay latency: Synapse's timestamp of the bot's reply minus that of the human's
//     message (both origin_server_ts, so the test's own polling is not counted), minus
//     the agent's own time (measured in the handler; ~0 for echo); p50/p90 over 200
//     messages sent one at a time;
//   - throughput: 200 messages sent by 8 parallel senders; answers per second from
//     the first question's timestamp to the last answer's.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <mutex>
#include <thread>

#include "oaio/call.h"
#include "support/host_fixture.h"
#include "support/test_util.h"
#include "synapse_fixture.h"

namespace oaio::test {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

std::int64_t ts(const Json& m) { return m.value("origin_server_ts", std::int64_t{0}); }

TEST(MatrixRelayBench, LatencyAndThroughput) {
  auto synapse = Synapse::start();
  ASSERT_TRUE(synapse.ok()) << synapse.status().to_string();
  Synapse& hs = *synapse.value();
  auto bot = hs.register_user("benchbot");
  auto human_acc = hs.register_user("benchhuman");
  ASSERT_TRUE(bot.ok() && human_acc.ok());
  MatrixUser human(hs.url(), human_acc.value());
  auto room = human.create_room({bot.value().user_id});
  ASSERT_TRUE(room.ok());
  HostDir dir;
  dir.add_plugin(built_plugin("matrix"));
  dir.add_manifest("matrix.yaml", "bridges:\n  - name: bench\n    plugin: matrix\n    config:\n"
                                  "      homeserver_url: \"" + hs.url() + "\"\n"
                                  "      access_token: \"" + bot.value().access_token + "\"\n"
                                  "      room_ids: [\"" + room.value() + "\"]\n"
                                  "      typing: false\n"
                                  "      sync_timeout: 30\n"
                                  "      mappings: {target: bench-echo}\n");
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  std::atomic<std::int64_t> agent_us{0};
  auto sub = app->connection().default_bus().handle_invoke("bench-echo", sync_invoke([&](Call& c) -> Result<Envelope> {
    auto t0 = std::chrono::steady_clock::now();
    Json p = Json::parse(c.request().payload, nullptr, false);
    auto out = result_payload(Json{{"text", p.is_object() ? p.value("text", "") : ""}}.dump());
    agent_us += std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }));
  ASSERT_TRUE(sub.ok());
  auto reply_of = [&](const std::string& q) -> Json {
    for (const auto& m : human.messages(room.value(), 20))
      if (reply_to(m) == q) return m;
    return Json();
  };
  // Warm up: the bridge is syncing once a message is answered.
  ASSERT_TRUE(wait_until(
      [&] {
        auto id = human.send_text(room.value(), "warm-up");
        return id.ok() && wait_until([&] { return !reply_of(id.value()).is_null(); }, 3s);
      },
      60s));

  constexpr int kN = 200;
  std::vector<double> latencies;
  agent_us = 0;
  for (int i = 0; i < kN; ++i) {
    auto id = human.send_text(room.value(), "latency " + std::to_string(i));
    ASSERT_TRUE(id.ok());
    Json reply;
    ASSERT_TRUE(wait_until([&] { return !(reply = reply_of(id.value())).is_null(); }, 10s)) << i;
    Json question;
    for (const auto& m : human.messages(room.value(), 20))
      if (m.value("event_id", "") == id.value()) question = m;
    latencies.push_back(static_cast<double>(ts(reply) - ts(question)));
  }
  double agent_ms_avg = agent_us.load() / 1000.0 / kN;
  std::sort(latencies.begin(), latencies.end());
  double p50 = latencies[kN / 2] - agent_ms_avg, p90 = latencies[kN * 9 / 10] - agent_ms_avg;

  // Throughput: a burst of kN messages from 8 parallel senders (one sender alone is
  // slower than the bridge: each send waits for Synapse to persist the event).
  constexpr int kSenders = 8;
  std::vector<std::string> ids;
  std::mutex ids_mu;
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      MatrixUser me(hs.url(), human_acc.value());
      for (int i = t; i < kN; i += kSenders) {
        auto id = me.send_text(room.value(), "burst " + std::to_string(i));
        if (!id.ok()) continue;
        std::lock_guard<std::mutex> l(ids_mu);
        ids.push_back(id.value());
      }
    });
  }
  for (auto& t : senders) t.join();
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kN));
  std::vector<Json> all;
  ASSERT_TRUE(wait_until(
      [&] {
        all = human.messages(room.value(), 1000);
        std::size_t answered = 0;
        for (const auto& m : all)
          if (std::find(ids.begin(), ids.end(), reply_to(m)) != ids.end()) ++answered;
        return answered == ids.size();
      },
      120s));
  std::int64_t first = INT64_MAX, last = 0;
  for (const auto& m : all) {
    if (std::find(ids.begin(), ids.end(), m.value("event_id", "")) != ids.end()) first = std::min(first, ts(m));
    if (std::find(ids.begin(), ids.end(), reply_to(m)) != ids.end()) last = std::max(last, ts(m));
  }
  double seconds = (last - first) / 1000.0;
  std::printf("matrix relay latency (Synapse-accepted question -> Synapse-accepted answer, minus agent time):\n"
              "  p50 %.1f ms  p90 %.1f ms  over %d messages (agent avg %.3f ms)\n"
              "matrix relay throughput: %d messages answered in %.2f s = %.1f msg/s (rate limits off)\n",
              p50, p90, kN, agent_ms_avg, kN, seconds, seconds > 0 ? kN / seconds : 0.0);
}

}  // namespace
}  // namespace oaio::test
