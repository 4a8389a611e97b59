// CallImpl's cancellation hooks. The host relies on the late case: for a plugin whose
// call hook never blocks it registers its cancel hook only after the hook returned,
// and a cancel that came meanwhile must still reach it, once.
#include <atomic>

#include <gtest/gtest.h>

#include "call_impl.h"

namespace oaio::detail {
namespace {

CallImpl make_call() { return CallImpl(Envelope{}, "t", /*is_stream=*/false, nullptr); }

TEST(CallImplTest, AHookRegisteredBeforeTheCancelRunsOnceOnIt) {
  CallImpl call = make_call();
  int runs = 0;
  call.on_cancel([&] { ++runs; });
  EXPECT_EQ(runs, 0);
  call.cancel();
  call.cancel();  // idempotent
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(call.cancelled());
}

TEST(CallImplTest, AHookRegisteredAfterTheCancelRunsAtOnce) {
  CallImpl call = make_call();
  call.cancel();
  int runs = 0;
  call.on_cancel([&] { ++runs; });
  EXPECT_EQ(runs, 1);
  call.cancel();
  EXPECT_EQ(runs, 1);
}

TEST(CallImplTest, EveryHookRunsOnce) {
  CallImpl call = make_call();
  int a = 0, b = 0, c = 0;
  call.on_cancel([&] { ++a; });
  call.on_cancel([&] { ++b; });
  call.cancel();
  call.on_cancel([&] { ++c; });
  EXPECT_EQ(a + b + c, 3);
}

}  // namespace
}  // namespace oaio::detail
