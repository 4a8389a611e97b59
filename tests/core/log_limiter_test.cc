// LogLimiter: the first occurrence is logged, then one per interval, each reporting
// how many were held back in between.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "log_limiter.h"

namespace oaio::detail {
namespace {

TEST(LogLimiterTest, LogsTheFirstThenOnePerIntervalCountingTheRest) {
  LogLimiter limiter(std::chrono::milliseconds(200));
  std::uint64_t held = 99;
  ASSERT_TRUE(limiter.admit(&held));
  EXPECT_EQ(held, 0u);
  int admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += limiter.admit(&held) ? 1 : 0;
  EXPECT_EQ(admitted, 0);  // 50 calls take far less than 200 ms
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  ASSERT_TRUE(limiter.admit(&held));
  EXPECT_EQ(held, 50u);
  EXPECT_EQ(LogLimiter::held_back_note(held), " (50 more since the last report)");
  EXPECT_EQ(LogLimiter::held_back_note(0), "");
}

TEST(LogLimiterTest, ConcurrentCallersAdmitOneAndCountEveryOtherCall) {
  LogLimiter limiter(std::chrono::hours(1));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::uint64_t held;
      for (int i = 0; i < 1000; ++i) admitted += limiter.admit(&held) ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1);
}

}  // namespace
}  // namespace oaio::detail
