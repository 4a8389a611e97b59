// CallClock: durations of plugin calls, from the TSC where the CPU has an invariant
// one. It must agree with steady_clock and never go negative.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "call_clock.h"

namespace oaio::host {
namespace {

TEST(CallClockTest, MeasuresWhatSteadyClockMeasures) {
  const auto steady_start = std::chrono::steady_clock::now();
  const CallClock::Stamp start = CallClock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const CallClock::Stamp end = CallClock::now();
  const double steady = std::chrono::duration<double>(std::chrono::steady_clock::now() - steady_start).count();
  const double measured = CallClock::seconds_between(start, end);
  // Both clocks bracket the same sleep; the calibration error is far below 10 %.
  EXPECT_GE(measured, 0.030 * 0.9);
  EXPECT_LE(measured, steady * 1.1);
}

TEST(CallClockTest, AnEndBeforeTheStartIsZeroNotNegative) {
  const CallClock::Stamp a = CallClock::now();
  const CallClock::Stamp b = CallClock::now();
  EXPECT_GE(b, a);
  EXPECT_EQ(CallClock::seconds_between(b + 1000, b), 0.0);
  EXPECT_EQ(CallClock::seconds_between(a, a), 0.0);
}

}  // namespace
}  // namespace oaio::host
