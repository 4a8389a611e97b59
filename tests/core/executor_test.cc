// Executor, Lane and TimerService: the bus's thread pool, per-target admission control
// (concurrency limit, bounded queue, slots held until release) and deadline timers.
#include "executor.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_util.h"
#include "timer.h"

namespace oaio::detail {
namespace {

using namespace std::chrono_literals;
using oaio::test::wait_until;

std::size_t thread_count() {
  // Threads of this process: /proc/self/task has one entry per thread.
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// The thread count once threads joined by earlier tests have left /proc (a joined thread
// may stay listed for a moment).
std::size_t settled_thread_count() {
  (void)wait_until([] { return thread_count() == 1; }, 1s);
  return thread_count();
}

void raise_to(std::atomic<int>& high, int value) {
  int cur = high.load();
  while (value > cur && !high.compare_exchange_weak(cur, value)) {
  }
}

// A gate tasks can block on until the test opens it.
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// ---- Executor ----

TEST(ExecutorTest, RunsPostedTasks) {
  Executor ex(2);
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(ex.post([&] { ++done; }));
  EXPECT_TRUE(wait_until([&] { return done.load() == 100; }));
}

TEST(ExecutorTest, NeverCreatesMoreThreadsThanConfigured) {
  const std::size_t before = settled_thread_count();
  std::atomic<std::size_t> max_seen{0};
  {
    Executor ex(3);
    EXPECT_EQ(thread_count(), before + 3);
    std::atomic<int> done{0};
    constexpr int kTasks = 10000;
    std::vector<std::thread> posters;
    constexpr std::size_t kPosters = 4;
    for (std::size_t p = 0; p < kPosters; ++p) {
      posters.emplace_back([&] {
        for (int i = 0; i < kTasks / static_cast<int>(kPosters); ++i) {
          ASSERT_TRUE(ex.post([&, i] {
            if (i % 500 == 0) {
              std::size_t n = thread_count();
              std::size_t cur = max_seen.load();
              while (n > cur && !max_seen.compare_exchange_weak(cur, n)) {
              }
            }
            ++done;
          }));
        }
      });
    }
    for (auto& t : posters) t.join();
    ASSERT_TRUE(wait_until([&] { return done.load() == kTasks; }, 30s));
    EXPECT_EQ(thread_count(), before + 3);
    EXPECT_LE(max_seen.load(), before + 3 + kPosters) << "the posting threads are the only others";
  }
  EXPECT_TRUE(wait_until([&] { return thread_count() == before; })) << "shutdown joins every worker";
}

// With idle_spin a worker that ran out of work polls instead of sleeping, and a post
// that finds it skips the wake-up. Posts beyond the spinners must still wake sleeping
// workers: these rounds need all four workers at once (each task waits for the other
// three), so a task stuck behind the spinner would hang the round.
TEST(ExecutorTest, SpinningWorkerNeverHidesTasksFromSleepingOnes) {
  Executor ex(4, std::chrono::microseconds(2000));
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> started{0}, finished{0};
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(ex.post([&] {
        ++started;
        wait_until([&] { return started.load() == 4; }, 5s);
        ++finished;
      }));
    }
    ASSERT_TRUE(wait_until([&] { return finished.load() == 4; }, 10s)) << "round " << round;
    EXPECT_EQ(started.load(), 4);
    // Let the workers go idle (one spins, the others sleep) before the next round;
    // vary the pause around the spin budget.
    std::this_thread::sleep_for(std::chrono::microseconds(500 * (round % 7)));
  }
}

TEST(ExecutorTest, SpinningWorkerRunsEveryTaskAndShutsDown) {
  Executor ex(2, std::chrono::microseconds(500));
  std::atomic<int> done{0};
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(ex.post([&] { ++done; }));
    if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::microseconds(i % 700));
  }
  EXPECT_TRUE(wait_until([&] { return done.load() == 2000; }));
  ex.shutdown();  // a spinning worker sees the stop at once
  EXPECT_FALSE(ex.post([] {}));
}

TEST(ExecutorTest, ZeroThreadsMeansOne) {
  const std::size_t before = settled_thread_count();
  Executor ex(0);
  EXPECT_EQ(thread_count(), before + 1);
  std::atomic<bool> ran{false};
  ASSERT_TRUE(ex.post([&] { ran = true; }));
  EXPECT_TRUE(wait_until([&] { return ran.load(); }));
}

TEST(ExecutorTest, ShutdownRunsQueuedTasksAndRefusesNewOnes) {
  Executor ex(1);
  Gate gate;
  std::atomic<int> done{0};
  ASSERT_TRUE(ex.post([&] { gate.wait(); }));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(ex.post([&] { ++done; }));
  std::atomic<bool> shutdown_returned{false};
  std::thread stopper([&] {
    ex.shutdown();
    shutdown_returned = true;
  });
  // Posts succeed until shutdown has begun; count the ones that got in.
  int extra = 0;
  ASSERT_TRUE(wait_until([&] {
    if (ex.post([&] { ++done; })) {
      ++extra;
      return false;
    }
    return true;
  }));
  EXPECT_EQ(done.load(), 0) << "the worker is still blocked";
  EXPECT_FALSE(shutdown_returned.load());
  gate.open();
  stopper.join();
  EXPECT_EQ(done.load(), 100 + extra) << "every queued task ran before shutdown returned";
  EXPECT_FALSE(ex.post([&] { ++done; }));
  ex.shutdown();  // idempotent
  EXPECT_EQ(done.load(), 100 + extra);
}

TEST(ExecutorTest, ShutdownFromInsideATaskDoesNotDeadlock) {
  auto ex = std::make_shared<Executor>(2);
  std::atomic<bool> returned{false};
  ASSERT_TRUE(ex->post([&, raw = ex.get()] {
    raw->shutdown();
    returned = true;
  }));
  EXPECT_TRUE(wait_until([&] { return returned.load(); }));
  EXPECT_FALSE(ex->post([] {}));
}

// ---- Lane ----

TEST(LaneTest, NeverRunsMoreThanMaxConcurrency) {
  Executor ex(8);
  auto lane = std::make_shared<Lane>(&ex, 3, 100000);
  std::atomic<int> active{0}, high{0}, done{0}, accepted{0};
  auto task = [&](std::function<void()> release) {
    raise_to(high, ++active);
    std::this_thread::sleep_for(100us);  // simulated work, so slots overlap
    --active;
    ++done;
    release();
  };
  std::vector<std::thread> submitters;
  for (int s = 0; s < 4; ++s) {
    submitters.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (lane->submit(task)) ++accepted;
      }
    });
  }
  for (auto& t : submitters) t.join();
  EXPECT_EQ(accepted.load(), 400);
  ASSERT_TRUE(wait_until([&] { return done.load() == accepted.load(); }, 30s));
  EXPECT_LE(high.load(), 3);
  EXPECT_EQ(high.load(), 3) << "the lane should have used all of its slots under load";
  EXPECT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
}

TEST(LaneTest, ConcurrencyIsHeldAcrossAsyncCompletions) {
  // Tasks release from other threads after their function returned; the limit still holds.
  Executor ex(4);
  auto lane = std::make_shared<Lane>(&ex, 2, 100000);
  std::atomic<int> active{0}, high{0}, done{0};
  std::mutex mu;
  std::vector<std::thread> completers;
  auto task = [&](std::function<void()> release) {
    raise_to(high, ++active);
    std::lock_guard lock(mu);
    completers.emplace_back([&, release] {
      std::this_thread::sleep_for(50us);
      --active;
      ++done;
      release();
    });
  };
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(lane->submit(task));
  ASSERT_TRUE(wait_until([&] { return done.load() == 200; }, 30s));
  {
    std::lock_guard lock(mu);
    for (auto& t : completers) t.join();
  }
  EXPECT_LE(high.load(), 2);
  EXPECT_EQ(lane->outstanding(), 0u);
}

TEST(LaneTest, RefusesBeyondMaxQueueAndLosesNothingAccepted) {
  Executor ex(4);
  auto lane = std::make_shared<Lane>(&ex, 2, 5);
  Gate gate;
  std::atomic<int> done{0};
  auto task = [&](std::function<void()> release) {
    gate.wait();
    ++done;
    release();
  };
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(lane->submit(task)) << i;  // 2 running + 5 queued
  EXPECT_FALSE(lane->submit(task));
  EXPECT_FALSE(lane->submit(task));
  EXPECT_EQ(lane->outstanding(), 7u);
  gate.open();
  ASSERT_TRUE(wait_until([&] { return done.load() == 7; }));
  EXPECT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
  EXPECT_EQ(done.load(), 7);
  // Room again once drained.
  EXPECT_TRUE(lane->submit(task));
  EXPECT_TRUE(wait_until([&] { return done.load() == 8; }));
}

TEST(LaneTest, FloodFromManyThreadsCountsEveryAcceptedTask) {
  Executor ex(4);
  auto lane = std::make_shared<Lane>(&ex, 2, 10);
  std::atomic<int> accepted{0}, refused{0}, done{0};
  auto task = [&](std::function<void()> release) {
    ++done;
    release();
  };
  std::vector<std::thread> submitters;
  for (int s = 0; s < 4; ++s) {
    submitters.emplace_back([&] {
      for (int i = 0; i < 2500; ++i) (lane->submit(task) ? accepted : refused)++;
    });
  }
  for (auto& t : submitters) t.join();
  EXPECT_EQ(accepted.load() + refused.load(), 10000);
  EXPECT_GE(accepted.load(), 12);
  ASSERT_TRUE(wait_until([&] { return done.load() == accepted.load(); }, 30s));
  EXPECT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
  EXPECT_EQ(done.load(), accepted.load()) << "no task ran twice";
}

TEST(LaneTest, StartsInFifoOrderWithConcurrencyOne) {
  Executor ex(4);
  auto lane = std::make_shared<Lane>(&ex, 1, 1000);
  std::mutex mu;
  std::vector<int> order;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(lane->submit([&, i](std::function<void()> release) {
      {
        std::lock_guard lock(mu);
        order.push_back(i);
      }
      release();
    }));
  }
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mu);
    return order.size() == 200;
  }));
  std::lock_guard lock(mu);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(order[i], i);
}

// A backlog of synchronous tasks is worked off in batches on one executor thread (no
// hand-off per task), in order, with other lanes still getting turns between batches.
TEST(LaneTest, BacklogOfSyncTasksRunsInBatchesOnOneThread) {
  Executor ex(4);
  auto lane = std::make_shared<Lane>(&ex, 1, 10000);
  std::mutex mu;
  std::condition_variable cv;
  bool gate_open = false;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  // The first task holds the slot until every other task is queued behind it.
  ASSERT_TRUE(lane->submit([&](std::function<void()> release) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return gate_open; });
    release();
  }));
  const int n = 3 * kLaneBatch;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(lane->submit([&, i](std::function<void()> release) {
      {
        std::lock_guard lock(mu);
        order.push_back(i);
        threads.push_back(std::this_thread::get_id());
      }
      release();
      release();  // a second release is ignored
    }));
  }
  auto other = std::make_shared<Lane>(&ex, 1, 10);
  std::atomic<bool> other_ran{false};
  ASSERT_TRUE(other->submit([&](std::function<void()> release) {
    other_ran = true;
    release();
  }));
  ASSERT_TRUE(wait_until([&] { return other_ran.load(); })) << "a blocked lane must not block other lanes";
  {
    std::lock_guard lock(mu);
    gate_open = true;
  }
  cv.notify_all();
  ASSERT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
  std::lock_guard lock(mu);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(order[i], i);
  // Within a batch every task ran on the thread that ran the first of the batch.
  for (int i = 0; i + 1 < kLaneBatch - 1; ++i) EXPECT_EQ(threads[i], threads[0]) << "task " << i;
}

// A task that releases after it returned (an async handler) hands its slot on through
// the release function, and the lane goes on.
TEST(LaneTest, MixOfSyncAndAsyncReleasesKeepsOrderAndCount) {
  Executor ex(2);
  auto lane = std::make_shared<Lane>(&ex, 1, 1000);
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> later;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(lane->submit([&, i](std::function<void()> release) {
      std::lock_guard lock(mu);
      order.push_back(i);
      if (i % 3 == 0) {
        later.emplace_back([release] {
          std::this_thread::sleep_for(1ms);
          release();
        });
      } else {
        release();
      }
    }));
  }
  ASSERT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
  std::lock_guard lock(mu);
  for (auto& t : later) t.join();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(order[i], i);
}

TEST(LaneTest, SlotIsHeldUntilReleaseEvenAfterTheTaskReturned) {
  Executor ex(4);
  auto lane = std::make_shared<Lane>(&ex, 1, 10);
  std::mutex mu;
  std::function<void()> held_release;
  std::atomic<bool> a_returned{false}, b_started{false};
  ASSERT_TRUE(lane->submit([&](std::function<void()> release) {
    std::lock_guard lock(mu);
    held_release = std::move(release);
    a_returned = true;
  }));
  ASSERT_TRUE(lane->submit([&](std::function<void()> release) {
    b_started = true;
    release();
  }));
  ASSERT_TRUE(wait_until([&] { return a_returned.load(); }));
  EXPECT_EQ(lane->outstanding(), 2u);
  EXPECT_FALSE(wait_until([&] { return b_started.load(); }, 100ms)) << "B ran while A still held the only slot";
  std::thread completer([&] {
    std::lock_guard lock(mu);
    held_release();
  });
  completer.join();
  EXPECT_TRUE(wait_until([&] { return b_started.load(); }));
  EXPECT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
}

TEST(LaneTest, ReleasingTwiceIsHarmless) {
  Executor ex(4);
  auto lane = std::make_shared<Lane>(&ex, 1, 10);
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(lane->submit([&](std::function<void()> release) {
      release();
      release();
      std::thread([release] { release(); }).join();
      ++done;
    }));
  }
  ASSERT_TRUE(wait_until([&] { return done.load() == 3; }));
  ASSERT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
  // The limit of one is intact: with the only slot held, the next call must wait.
  std::mutex mu;
  std::function<void()> held;
  std::atomic<bool> first{false}, second{false};
  ASSERT_TRUE(lane->submit([&](std::function<void()> release) {
    std::lock_guard lock(mu);
    held = std::move(release);
    first = true;
  }));
  ASSERT_TRUE(lane->submit([&](std::function<void()> release) {
    second = true;
    release();
  }));
  ASSERT_TRUE(wait_until([&] { return first.load(); }));
  EXPECT_EQ(lane->outstanding(), 2u);
  EXPECT_FALSE(wait_until([&] { return second.load(); }, 100ms));
  {
    std::lock_guard lock(mu);
    held();
  }
  EXPECT_TRUE(wait_until([&] { return second.load(); }));
  EXPECT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
}

TEST(LaneTest, ZeroConcurrencyMeansOne) {
  Executor ex(2);
  auto lane = std::make_shared<Lane>(&ex, 0, 10);
  Gate gate;
  std::atomic<int> active{0}, high{0}, done{0};
  auto task = [&](std::function<void()> release) {
    raise_to(high, ++active);
    gate.wait();
    --active;
    ++done;
    release();
  };
  ASSERT_TRUE(lane->submit(task));
  ASSERT_TRUE(lane->submit(task));
  EXPECT_EQ(lane->outstanding(), 2u);
  gate.open();
  ASSERT_TRUE(wait_until([&] { return done.load() == 2; }));
  EXPECT_EQ(high.load(), 1);
}

TEST(LaneTest, ZeroQueueRefusesWhenAllSlotsAreBusy) {
  Executor ex(2);
  auto lane = std::make_shared<Lane>(&ex, 1, 0);
  Gate gate;
  std::atomic<int> done{0};
  auto task = [&](std::function<void()> release) {
    gate.wait();
    ++done;
    release();
  };
  EXPECT_TRUE(lane->submit(task));
  EXPECT_FALSE(lane->submit(task));
  gate.open();
  ASSERT_TRUE(wait_until([&] { return done.load() == 1; }));
  EXPECT_TRUE(wait_until([&] { return lane->outstanding() == 0; }));
}

// ---- TimerService ----

TEST(TimerServiceTest, FiresInDeadlineOrder) {
  TimerService timers;
  std::mutex mu;
  std::string order;
  auto mark = [&](char c) {
    return [&, c] {
      std::lock_guard lock(mu);
      order += c;
    };
  };
  auto base = TimerService::Clock::now() + 50ms;
  EXPECT_NE(timers.schedule(base + 40ms, mark('d')), 0u);
  EXPECT_NE(timers.schedule(base + 0ms, mark('a')), 0u);
  EXPECT_NE(timers.schedule(base + 30ms, mark('c')), 0u);
  EXPECT_NE(timers.schedule(base + 10ms, mark('b')), 0u);
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mu);
    return order.size() == 4;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(order, "abcd");
}

TEST(TimerServiceTest, EqualDeadlinesFireInSchedulingOrder) {
  TimerService timers;
  std::mutex mu;
  std::string order;
  auto when = TimerService::Clock::now() + 30ms;
  for (char c : std::string("abcdef")) {
    timers.schedule(when, [&, c] {
      std::lock_guard lock(mu);
      order += c;
    });
  }
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mu);
    return order.size() == 6;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(order, "abcdef");
}

TEST(TimerServiceTest, PastDeadlineFiresPromptly) {
  TimerService timers;
  std::atomic<bool> fired{false};
  timers.schedule(TimerService::Clock::now() - 1s, [&] { fired = true; });
  EXPECT_TRUE(wait_until([&] { return fired.load(); }));
}

TEST(TimerServiceTest, EarlierTimerScheduledLaterWakesTheThread) {
  TimerService timers;
  std::atomic<bool> late{false}, early{false};
  timers.schedule_after(std::chrono::milliseconds(3600 * 1000), [&] { late = true; });
  timers.schedule_after(10ms, [&] { early = true; });
  EXPECT_TRUE(wait_until([&] { return early.load(); }, 2s));
  EXPECT_FALSE(late.load());
}

// The thread is not woken for a timer due after its next wake-up, and cancelling does
// not wake it (the timeout of every call works like this): timers scheduled around
// cancelled ones must still fire on time.
TEST(TimerServiceTest, TimersAroundCancelledOnesFireOnTime) {
  TimerService timers;
  // The thread sleeps until this one, which is then cancelled without waking it.
  auto far = timers.schedule_after(std::chrono::milliseconds(3600 * 1000), [] {});
  EXPECT_TRUE(timers.cancel(far));
  // Due before the thread's (stale) wake-up: must wake it.
  std::atomic<bool> soon{false};
  auto start = TimerService::Clock::now();
  timers.schedule_after(20ms, [&] { soon = true; });
  ASSERT_TRUE(wait_until([&] { return soon.load(); }, 2s));
  EXPECT_LT(TimerService::Clock::now() - start, 1s);
  // Many call-like timers: scheduled far, cancelled, while one short timer is pending.
  std::atomic<bool> short_fired{false};
  timers.schedule_after(50ms, [&] { short_fired = true; });
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(timers.cancel(timers.schedule_after(30s, [] {})));
  ASSERT_TRUE(wait_until([&] { return short_fired.load(); }, 2s));
  // The thread now waits for work with nothing pending: a new timer must wake it.
  std::atomic<bool> last{false};
  timers.schedule_after(10ms, [&] { last = true; });
  EXPECT_TRUE(wait_until([&] { return last.load(); }, 2s));
}

TEST(TimerServiceTest, CancelPreventsFiring) {
  TimerService timers;
  std::atomic<bool> x{false}, y{false};
  auto id_x = timers.schedule_after(100ms, [&] { x = true; });
  auto id_y = timers.schedule_after(150ms, [&] { y = true; });
  ASSERT_NE(id_x, 0u);
  ASSERT_NE(id_x, id_y);
  EXPECT_TRUE(timers.cancel(id_x));
  EXPECT_FALSE(timers.cancel(id_x)) << "second cancel reports not pending";
  ASSERT_TRUE(wait_until([&] { return y.load(); }));
  EXPECT_FALSE(x.load());
  EXPECT_FALSE(timers.cancel(id_y)) << "a fired timer is not pending";
  EXPECT_FALSE(timers.cancel(0));
  EXPECT_FALSE(timers.cancel(123456));
}

TEST(TimerServiceTest, CancelFromInsideACallback) {
  TimerService timers;
  std::atomic<bool> b{false}, c{false}, cancel_result{false}, self_cancel{true};
  std::atomic<TimerService::TimerId> id_b{0}, id_a{0};
  auto base = TimerService::Clock::now() + 30ms;
  id_b = timers.schedule(base + 40ms, [&] { b = true; });
  id_a = timers.schedule(base, [&] {
    cancel_result = timers.cancel(id_b.load());
    self_cancel = timers.cancel(id_a.load());  // already fired: no-op, no deadlock
  });
  timers.schedule(base + 80ms, [&] { c = true; });
  ASSERT_TRUE(wait_until([&] { return c.load(); }));
  EXPECT_TRUE(cancel_result.load());
  EXPECT_FALSE(self_cancel.load());
  EXPECT_FALSE(b.load());
}

TEST(TimerServiceTest, ScheduleFromInsideACallback) {
  TimerService timers;
  std::atomic<bool> second{false};
  timers.schedule_after(5ms, [&] { timers.schedule_after(5ms, [&] { second = true; }); });
  EXPECT_TRUE(wait_until([&] { return second.load(); }));
}

TEST(TimerServiceTest, ScheduleAfterShutdownReturnsZeroAndNeverRuns) {
  TimerService timers;
  std::atomic<bool> pending_ran{false}, late_ran{false};
  timers.schedule_after(30ms, [&] { pending_ran = true; });
  timers.shutdown();
  EXPECT_EQ(timers.schedule_after(0ms, [&] { late_ran = true; }), 0u);
  EXPECT_EQ(timers.schedule(TimerService::Clock::now(), [&] { late_ran = true; }), 0u);
  timers.shutdown();  // idempotent
  // The timer thread is joined, so nothing can run any more.
  EXPECT_FALSE(pending_ran.load()) << "shutdown drops pending timers";
  EXPECT_FALSE(late_ran.load());
}

TEST(TimerServiceTest, DestroyedFromItsOwnCallback) {
  auto timers = std::make_unique<TimerService>();
  std::atomic<bool> done{false};
  timers->schedule_after(5ms, [&] {
    timers.reset();
    done = true;
  });
  EXPECT_TRUE(wait_until([&] { return done.load(); }));
  EXPECT_EQ(timers, nullptr);
}

}  // namespace
}  // namespace oaio::detail
