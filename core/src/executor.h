// Executor: a fixed pool of worker threads, and Lane, the per-target admission
// control in front of it. A Lane admits at most `max_concurrency` calls at once and
// queues at most `max_queue` more; anything beyond is refused so the caller can
// answer BACKPRESSURE_DROP. A call holds its slot until its release function runs,
// which for asynchronous handlers may be long after the worker thread moved on; so
// a slow target fills only its own slots and never starves the others.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace oaio::detail {

class Executor {
 public:
  // `idle_spin`: how long a worker that ran out of tasks polls for the next one before
  // it sleeps (at most one worker spins at a time); see spin_wait.h. 0 = never.
  explicit Executor(std::size_t threads, std::chrono::microseconds idle_spin = std::chrono::microseconds(0));
  ~Executor();  // shutdown()
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`; returns false (dropping it) after shutdown().
  bool post(std::function<void()> task);
  // Runs the tasks already queued, then joins the workers (a worker calling this is
  // detached instead of joined). Idempotent.
  void shutdown();

 private:
  // Shared with the worker threads, so a worker detached by a shutdown() from inside a
  // task never touches a destroyed Executor.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> queue;  // guarded by mu
    bool stopping = false;                    // guarded by mu
    // A post finding a spinning worker needs no wake-up (the spinner takes the task)
    // unless more tasks wait than there are spinners.
    std::size_t spinning = 0;                 // guarded by mu
    // Lock-free views for spinners: queue.size() and stopping.
    std::atomic<std::size_t> queued{0};
    std::atomic<bool> stop_flag{false};
    std::chrono::microseconds idle_spin{0};   // immutable after construction
  };
  static void run(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::mutex workers_mu_;
  std::vector<std::thread> workers_;  // guarded by workers_mu_
};

// A task receives its release function and must call it exactly once, when the call
// it started is complete (possibly from another thread). Extra calls are ignored.
using LaneTask = std::function<void(std::function<void()> release)>;

// Lane: admission and ordering for one target or subscription on a shared Executor. At
// most max_concurrency tasks run at once; up to max_queue more wait in order.
// A task that releases its slot before it returns (a synchronous handler) lets the
// same executor thread run the next waiting task at once, up to kLaneBatch in a row:
// a backlog then costs no executor hand-off (queue, wake-up, thread switch) per task,
// which is what ordered subscriptions and stream frames pay for otherwise. After a
// batch the next task is posted, so other lanes get their turn.
inline constexpr int kLaneBatch = 64;

class Lane : public std::enable_shared_from_this<Lane> {
 public:
  // `executor` must outlive the lane's tasks.
  Lane(Executor* executor, std::size_t max_concurrency, std::size_t max_queue);

  // Runs `task` on the executor when a slot is free, else queues it. Returns false
  // (and drops the task) when max_queue tasks are already waiting.
  bool submit(LaneTask task);
  // As submit(), but a task that gets a slot at once runs right here, on the calling
  // thread, before this returns (for handlers that never block; the tasks that were
  // waiting still go to the executor). Admission and queueing are the same.
  bool submit_here(LaneTask task);
  // Calls admitted and not yet released, plus those queued.
  std::size_t outstanding() const;

 private:
  void start(LaneTask task);
  // Runs `task` on the calling thread, then the waiting tasks that follow it while each
  // releases its slot before returning (at most `batch` in all; the next one after
  // that is posted to the executor).
  void run_batch(LaneTask task, int batch = kLaneBatch);
  // Takes a slot for a new task (true), or queues it / refuses it (false; *queued says
  // which).
  bool admit(LaneTask& task, bool* queued);
  void release();
  // A finished task's slot: moves the next waiting task into *next (true), or frees
  // the slot when nothing waits (false).
  bool pass_slot(LaneTask* next);

  Executor* executor_;
  const std::size_t max_concurrency_;
  const std::size_t max_queue_;
  mutable std::mutex mu_;
  std::size_t running_ = 0;          // guarded by mu_
  std::deque<LaneTask> waiting_;     // guarded by mu_
};

}  // namespace oaio::detail
