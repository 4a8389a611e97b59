// Dispatch: per-target concurrency limits, bounded queues, bounded threads, drain.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>
#include <thread>

#include "support/bus_fixture.h"
#include "support/test_util.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;

int thread_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

// A gate the test opens to let blocked handlers finish.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

class BusDispatchTest : public test::BusPair {};

TEST_F(BusDispatchTest, SlowTargetDoesNotBlockOtherTargets) {
  Gate gate;
  HandlerOptions one;
  one.max_concurrency = 2;
  auto slow = server_->handle_invoke("slow", sync_invoke([&](Call&) -> Result<Envelope> {
                                       gate.wait();
                                       return result_payload("1");
                                     }),
                                     one);
  auto fast = server_->handle_invoke("fast", sync_invoke([](Call&) -> Result<Envelope> { return result_payload("2"); }));
  std::atomic<int> slow_done{0};
  for (int i = 0; i < 20; ++i) {
    client_->invoke_async("slow", Envelope{}, {}, [&](Result<Envelope>) { slow_done++; });
  }
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client_->invoke_payload("fast", "{}").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(slow_done.load(), 0);
  gate.release();
  EXPECT_TRUE(test::wait_until([&] { return slow_done == 20; }));
}

TEST_F(BusDispatchTest, FloodIsBoundedAndOverflowIsAnsweredWithBackpressure) {
  Gate gate;
  HandlerOptions limits;
  limits.max_concurrency = 4;
  limits.max_queue = 16;
  std::atomic<int> running{0}, high_water{0};
  auto slow = server_->handle_invoke("busy", sync_invoke([&](Call&) -> Result<Envelope> {
                                       int now = ++running;
                                       int hw = high_water.load();
                                       while (now > hw && !high_water.compare_exchange_weak(hw, now)) {
                                       }
                                       gate.wait();
                                       --running;
                                       return result_payload("1");
                                     }),
                                     limits);
  int threads_before = thread_count();
  std::atomic<int> ok{0}, dropped{0}, other{0};
  for (int i = 0; i < 1000; ++i) {
    client_->invoke_async("busy", Envelope{}, {}, [&](Result<Envelope> r) {
      if (!r.ok()) {
        other++;
      } else if (reply_status(r.value()).code() == ErrorCode::kBackpressureDrop) {
        dropped++;
      } else {
        ok++;
      }
    });
  }
  EXPECT_TRUE(test::wait_until([&] { return dropped == 1000 - 20; }));
  EXPECT_LE(thread_count(), threads_before + 1);  // no thread per request
  gate.release();
  EXPECT_TRUE(test::wait_until([&] { return ok + dropped + other == 1000; }));
  EXPECT_EQ(ok.load(), 20);  // 4 running + 16 queued
  EXPECT_EQ(other.load(), 0);
  EXPECT_LE(high_water.load(), 4);
  EXPECT_EQ(server_->stats().requests_rejected, 980u);
}

TEST_F(BusDispatchTest, DrainLetsInFlightFinishAndRefusesNewWork) {
  Gate gate;
  std::atomic<bool> finished{false};
  auto sub = server_->handle_invoke("work", sync_invoke([&](Call&) -> Result<Envelope> {
                                      gate.wait();
                                      finished = true;
                                      return result_payload(R"("done")");
                                    }));
  std::optional<Result<Envelope>> in_flight;
  std::mutex mu;
  client_->invoke_async("work", Envelope{}, {}, [&](Result<Envelope> r) {
    std::lock_guard lock(mu);
    in_flight.emplace(std::move(r));
  });
  ASSERT_TRUE(test::wait_until([&] { return server_->stats().requests_handled == 1; }));
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate.release();
  });
  Status drained = server_->drain(std::chrono::seconds(5));
  opener.join();
  EXPECT_TRUE(drained.ok()) << drained.to_string();
  EXPECT_TRUE(finished.load());
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mu);
    return in_flight.has_value();
  }));
  EXPECT_EQ(in_flight->value().payload, R"("done")");
  // After the drain the target is no longer served.
  EXPECT_EQ(client_->invoke_payload("work", "{}").status().code(), ErrorCode::kNoHandler);
}

TEST_F(BusDispatchTest, DrainDeadlineCancelsStragglers) {
  std::atomic<bool> saw_cancel{false};
  auto sub = server_->handle_invoke("stuck", sync_invoke([&](Call& c) -> Result<Envelope> {
                                      while (!c.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                      saw_cancel = true;
                                      return Status::unavailable("cancelled");
                                    }));
  client_->invoke_async("stuck", Envelope{}, {}, [](Result<Envelope>) {});
  ASSERT_TRUE(test::wait_until([&] { return server_->stats().requests_handled == 1; }));
  Status drained = server_->drain(std::chrono::milliseconds(50));
  EXPECT_EQ(drained.code(), ErrorCode::kAgentTimeout);
  EXPECT_THAT(drained.message(), HasSubstr("1 call(s)"));
  EXPECT_TRUE(test::wait_until([&] { return saw_cancel.load(); }));
}

TEST_F(BusDispatchTest, InlineHandlerRunsOnTheDeliveryThread) {
  std::thread::id handler_thread;
  HandlerOptions inline_opts;
  inline_opts.run_inline = true;
  auto sub = server_->handle_invoke("inline", sync_invoke([&](Call&) -> Result<Envelope> {
                                      handler_thread = std::this_thread::get_id();
                                      return result_payload("1");
                                    }),
                                    inline_opts);
  ASSERT_TRUE(client_->invoke_payload("inline", "{}").ok());
  EXPECT_EQ(handler_thread, std::this_thread::get_id());  // in-process delivery: the caller's thread
}

// Inline handlers keep the target's admission control: with its one slot held (an
// async handler that has not answered), the next request waits and later runs on an
// executor thread, and one more than max_queue is refused with BACKPRESSURE_DROP.
TEST_F(BusDispatchTest, InlineHandlerHonoursConcurrencyAndQueueLimits) {
  std::mutex mu;
  std::vector<Done> parked;                // guarded by mu
  std::vector<std::thread::id> threads;    // guarded by mu
  HandlerOptions opts;
  opts.run_inline = true;
  opts.max_concurrency = 1;
  opts.max_queue = 1;
  auto sub = server_->handle_invoke("held", [&](const std::shared_ptr<Call>&, Done done) {
    std::lock_guard lock(mu);
    threads.push_back(std::this_thread::get_id());
    parked.push_back(std::move(done));
  }, opts);
  ASSERT_TRUE(sub.ok());
  std::vector<std::optional<Result<Envelope>>> results(3);
  for (int i = 0; i < 3; ++i) {
    client_->invoke_async("held", Envelope{}, {}, [&, i](Result<Envelope> r) {
      std::lock_guard lock(mu);
      results[i].emplace(std::move(r));
    });
  }
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(threads.size(), 1u) << "the second request waits for the slot";
    EXPECT_EQ(threads[0], std::this_thread::get_id()) << "a free slot: run right here";
    ASSERT_TRUE(results[2].has_value()) << "the third finds the queue full";
    ASSERT_TRUE(results[2]->ok()) << "the refusal is an error reply: " << results[2]->status().to_string();
    EXPECT_EQ(reply_status(results[2]->value()).code(), ErrorCode::kBackpressureDrop);
  }
  auto answer = [&] {
    Done done;
    {
      std::lock_guard lock(mu);
      done = std::move(parked.back());
      parked.pop_back();
    }
    done(result_payload("1"));
  };
  answer();  // frees the slot: the waiting request runs, on an executor thread
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mu);
    return threads.size() == 2 && parked.size() == 1;
  }));
  {
    std::lock_guard lock(mu);
    EXPECT_NE(threads[1], std::this_thread::get_id());
  }
  answer();
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mu);
    return results[0].has_value() && results[1].has_value();
  }));
  std::lock_guard lock(mu);
  EXPECT_TRUE(results[0]->ok());
  EXPECT_TRUE(results[1]->ok());
}

TEST_F(BusDispatchTest, ClosingTheClientBusFailsCallsInFlight) {
  auto sub = server_->handle_invoke("never", [](const std::shared_ptr<Call>&, Done) {});
  auto client = test::open_bus(transport_, test::bus_options("short-lived"));
  std::optional<Status> result;
  std::mutex mu;
  client->invoke_async("never", Envelope{}, {}, [&](Result<Envelope> r) {
    std::lock_guard lock(mu);
    result = r.status();
  });
  client.reset();
  std::lock_guard lock(mu);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), ErrorCode::kTransportFailure);
}

}  // namespace
}  // namespace oaio
