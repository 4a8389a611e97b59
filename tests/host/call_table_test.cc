// CallTable: the pool of inbound calls handed to plugins. Handles are (slot,
// generation): a stale, duplicate or made-up handle finds nothing, exactly one taker
// wins, and a pinned call stays valid after it was taken.
#include "call_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <thread>
#include <vector>

namespace oaio::host {
namespace {

BridgeHost* fake_bridge(std::uintptr_t n) { return reinterpret_cast<BridgeHost*>(n * 64); }

oaio_call* add_call(CallTable& table, BridgeHost* bridge, void* user_data = nullptr) {
  oaio_call* handle = nullptr;
  CallRef ref = table.add(
      [&](PluginCall& pc) {
        pc.bridge = bridge;
        pc.target_user_data = user_data;
      },
      &handle);
  EXPECT_TRUE(ref);
  return handle;
}

TEST(CallTableTest, AddGetTakeOnce) {
  auto table = std::make_unique<CallTable>();
  int marker = 0;
  oaio_call* h = add_call(*table, fake_bridge(1), &marker);
  ASSERT_NE(h, nullptr);
  {
    CallRef got = table->get(h);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->target_user_data, &marker);
    EXPECT_EQ(got->bridge, fake_bridge(1));
  }
  CallRef taken = table->take(h);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->target_user_data, &marker);
  EXPECT_FALSE(table->take(h)) << "a second completion finds nothing";
  EXPECT_FALSE(table->get(h)) << "a taken call is no longer reachable by its handle";
}

TEST(CallTableTest, MadeUpHandlesFindNothing) {
  auto table = std::make_unique<CallTable>();
  oaio_call* h = add_call(*table, fake_bridge(1));
  const auto id = reinterpret_cast<std::uintptr_t>(h);
  for (std::uintptr_t bad : {std::uintptr_t{0}, std::uintptr_t{1} << 40, id + 1000000, id ^ (std::uintptr_t{7} << 32),
                             ~std::uintptr_t{0}}) {
    auto* handle = reinterpret_cast<oaio_call*>(bad);
    EXPECT_FALSE(table->get(handle)) << bad;
    EXPECT_FALSE(table->take(handle)) << bad;
  }
  EXPECT_TRUE(table->take(h)) << "the real call is untouched";
}

TEST(CallTableTest, AStaleHandleNeverReachesTheCallThatReusedItsSlot) {
  auto table = std::make_unique<CallTable>();
  oaio_call* old_handle = add_call(*table, fake_bridge(1));
  { CallRef done = table->take(old_handle); }  // the last pin goes: the slot is recycled
  int marker = 0;
  oaio_call* new_handle = add_call(*table, fake_bridge(2), &marker);
  ASSERT_NE(new_handle, old_handle);
  EXPECT_FALSE(table->get(old_handle));
  EXPECT_FALSE(table->take(old_handle));
  CallRef got = table->get(new_handle);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->target_user_data, &marker);
}

TEST(CallTableTest, APinnedCallOutlivesItsCompletion) {
  auto table = std::make_unique<CallTable>();
  int marker = 0;
  oaio_call* h = add_call(*table, fake_bridge(1), &marker);
  CallRef pin = table->get(h);  // e.g. call_info running while the plugin completes
  ASSERT_TRUE(pin);
  { CallRef taken = table->take(h); }
  EXPECT_EQ(pin->target_user_data, &marker) << "not recycled while pinned";
  oaio_call* other = add_call(*table, fake_bridge(1));
  EXPECT_NE(reinterpret_cast<std::uintptr_t>(other) & 0xffffffffu, reinterpret_cast<std::uintptr_t>(h) & 0xffffffffu)
      << "a pinned slot is not handed out again";
}

TEST(CallTableTest, GrowsBeyondOneChunkWithDistinctHandles) {
  auto table = std::make_unique<CallTable>();
  std::set<oaio_call*> handles;
  for (int i = 0; i < 1000; ++i) handles.insert(add_call(*table, fake_bridge(1)));
  EXPECT_EQ(handles.size(), 1000u);
  for (oaio_call* h : handles) EXPECT_TRUE(table->take(h));
}

TEST(CallTableTest, LiveHandlesAreThoseOfTheBridge) {
  auto table = std::make_unique<CallTable>();
  oaio_call* a1 = add_call(*table, fake_bridge(1));
  oaio_call* b1 = add_call(*table, fake_bridge(2));
  oaio_call* a2 = add_call(*table, fake_bridge(1));
  EXPECT_TRUE(table->take(a2));
  auto live = table->live_handles(fake_bridge(1));
  EXPECT_EQ(live, std::vector<oaio_call*>{a1});
  EXPECT_EQ(table->live_handles(fake_bridge(2)), std::vector<oaio_call*>{b1});
  EXPECT_TRUE(table->live_handles(fake_bridge(3)).empty());
}

// Completion racing cancellation and call_info from several threads: every call is
// taken exactly once, and a pinned call always shows its own data.
TEST(CallTableTest, RacingTakersEndEachCallExactlyOnce) {
  auto table = std::make_unique<CallTable>();
  constexpr int kCalls = 20000;
  constexpr int kThreads = 4;
  std::vector<oaio_call*> handles(kCalls);
  std::vector<int> ids(kCalls);
  std::atomic<int> next{0}, taken{0}, wrong{0};
  std::vector<std::thread> threads;
  std::thread producer([&] {
    for (int i = 0; i < kCalls; ++i) {
      ids[i] = i;
      oaio_call* h = nullptr;
      CallRef ref = table->add([&](PluginCall& pc) { pc.target_user_data = &ids[i]; }, &h);
      handles[i] = h;
      next.store(i + 1, std::memory_order_release);
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        while (next.load(std::memory_order_acquire) <= i) std::this_thread::yield();
        if (CallRef pin = table->get(handles[i]); pin && pin->target_user_data != &ids[i]) ++wrong;
        if (CallRef won = table->take(handles[i])) {
          if (won->target_user_data != &ids[i]) ++wrong;
          ++taken;
        }
      }
    });
  }
  producer.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken.load(), kCalls);
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace oaio::host
