#include "executor.h"

#include <atomic>

#include "spin_wait.h"

namespace oaio::detail {

Executor::Executor(std::size_t threads, std::chrono::microseconds idle_spin) {
  if (threads == 0) threads = 1;
  state_->idle_spin = idle_spin;
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([state = state_] { run(state); });
}

Executor::~Executor() { shutdown(); }

void Executor::shutdown() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    state_->stop_flag = true;
  }
  state_->cv.notify_all();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(workers_mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // shut down from one of our own tasks: cannot join ourselves
    } else {
      t.join();
    }
  }
}

bool Executor::post(std::function<void()> task) {
  bool wake;
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopping) return false;
    state_->queue.push_back(std::move(task));
    state_->queued.store(state_->queue.size(), std::memory_order_release);
    wake = state_->queue.size() > state_->spinning;
  }
  if (wake) state_->cv.notify_one();
  return true;
}

void Executor::run(const std::shared_ptr<State>& state) {
  constexpr std::size_t kMaxSpinners = 1;
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(state->mu);
      if (state->queue.empty() && !state->stopping && state->idle_spin.count() > 0 &&
          state->spinning < kMaxSpinners) {
        ++state->spinning;
        lock.unlock();
        spin_until(
            [&] {
              return state->queued.load(std::memory_order_acquire) > 0 ||
                     state->stop_flag.load(std::memory_order_acquire);
            },
            state->idle_spin);
        lock.lock();
        --state->spinning;
      }
      state->cv.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
      if (state->queue.empty()) return;  // stopping and drained
      task = std::move(state->queue.front());
      state->queue.pop_front();
      state->queued.store(state->queue.size(), std::memory_order_release);
    }
    task();
  }
}

Lane::Lane(Executor* executor, std::size_t max_concurrency, std::size_t max_queue)
    : executor_(executor), max_concurrency_(max_concurrency == 0 ? 1 : max_concurrency), max_queue_(max_queue) {}

bool Lane::admit(LaneTask& task, bool* queued) {
  std::lock_guard lock(mu_);
  *queued = false;
  if (running_ < max_concurrency_) {
    ++running_;
    return true;
  }
  if (waiting_.size() < max_queue_) {
    waiting_.push_back(std::move(task));
    *queued = true;
  }
  return false;
}

bool Lane::submit(LaneTask task) {
  bool queued;
  if (!admit(task, &queued)) return queued;
  start(std::move(task));
  return true;
}

bool Lane::submit_here(LaneTask task) {
  bool queued;
  if (!admit(task, &queued)) return queued;
  run_batch(std::move(task), /*batch=*/1);  // whatever waits goes to the executor
  return true;
}

std::size_t Lane::outstanding() const {
  std::lock_guard lock(mu_);
  return running_ + waiting_.size();
}

void Lane::start(LaneTask task) {
  // The lane must live as long as any release function that refers to it.
  auto self = shared_from_this();
  bool posted = executor_->post([self, task = std::move(task)]() mutable { self->run_batch(std::move(task)); });
  // After the executor shut down the task is dropped; give its slot back (which drops
  // the waiting tasks the same way) so outstanding() stays truthful.
  if (!posted) release();
}

namespace {

// Who gives a task's slot back: the runner (released before the task returned) or the
// release function (called after). Exactly one of them does, once.
struct SlotRelease {
  enum : int { kRunning, kReleasedInline, kReturned, kReleasedLater };
  std::atomic<int> state{kRunning};
};

}  // namespace

void Lane::run_batch(LaneTask task, int batch) {
  auto self = shared_from_this();
  for (int ran = 1;; ++ran) {
    auto slot = std::make_shared<SlotRelease>();
    task([self, slot] {
      int expected = SlotRelease::kRunning;
      if (slot->state.compare_exchange_strong(expected, SlotRelease::kReleasedInline)) return;  // the runner goes on
      if (expected == SlotRelease::kReturned &&
          slot->state.compare_exchange_strong(expected, SlotRelease::kReleasedLater)) {
        self->release();
      }
    });
    int expected = SlotRelease::kRunning;
    if (slot->state.compare_exchange_strong(expected, SlotRelease::kReturned)) return;  // still running elsewhere
    // Released inline: the slot is ours to pass on.
    LaneTask next;
    if (!pass_slot(&next)) return;
    if (ran >= batch) {
      start(std::move(next));  // fairness: other lanes' tasks are queued on the executor too
      return;
    }
    task = std::move(next);
  }
}

bool Lane::pass_slot(LaneTask* next) {
  std::lock_guard lock(mu_);
  if (waiting_.empty()) {
    --running_;
    return false;
  }
  *next = std::move(waiting_.front());
  waiting_.pop_front();
  return true;
}

void Lane::release() {
  LaneTask next;
  if (pass_slot(&next)) start(std::move(next));  // the slot passes straight to the next waiting call
}

}  // namespace oaio::detail
