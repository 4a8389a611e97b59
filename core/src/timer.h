// TimerService: one thread that runs callbacks at deadlines (call timeouts, idle and
// liveness checks, heartbeats, retry back-off). Callbacks run on the timer thread and
// must be short; cancel() of a timer that already fired is a no-op.
//
// Thread-safety: all methods are thread-safe; cancel() may be called from a callback,
// and the service may even be destroyed from one (its thread is then detached and
// only touches state it shares ownership of).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace oaio::detail {

class TimerService {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = std::uint64_t;  // 0 is never a valid id

  TimerService();
  ~TimerService();  // shutdown()
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // Returns 0 (and never runs fn) after shutdown().
  TimerId schedule(Clock::time_point when, std::function<void()> fn);
  TimerId schedule_after(std::chrono::milliseconds delay, std::function<void()> fn) {
    return schedule(Clock::now() + delay, std::move(fn));
  }
  // Returns true if the timer was still pending (and now never runs).
  bool cancel(TimerId id);
  // Drops pending timers and joins the thread. Idempotent.
  void shutdown();

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    // Ordered by (deadline, id) so equal deadlines keep scheduling order.
    std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers;  // guarded by mu
    std::unordered_map<TimerId, Clock::time_point> deadlines;                       // guarded by mu
    TimerId next_id = 1;                                                            // guarded by mu
    bool stopping = false;                                                          // guarded by mu
    // When the thread will next wake up by itself (max while it waits for work). A new
    // timer only needs to wake it when it is due earlier than that: the usual timer (a
    // call's timeout, cancelled when the reply comes) is due later, and waking the
    // thread for it would cost every call a context switch.
    Clock::time_point wakes_at = Clock::time_point::max();  // guarded by mu
  };
  static void run(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::mutex thread_mu_;
  std::thread thread_;  // guarded by thread_mu_
};

}  // namespace oaio::detail
