#include "timer.h"

namespace oaio::detail {

TimerService::TimerService() : thread_([state = state_] { run(state); }) {}

TimerService::~TimerService() { shutdown(); }

void TimerService::shutdown() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    state_->timers.clear();
    state_->deadlines.clear();
  }
  state_->cv.notify_all();
  std::thread t;
  {
    std::lock_guard lock(thread_mu_);
    t.swap(thread_);
  }
  if (!t.joinable()) return;
  if (t.get_id() == std::this_thread::get_id()) {
    t.detach();
  } else {
    t.join();
  }
}

TimerService::TimerId TimerService::schedule(Clock::time_point when, std::function<void()> fn) {
  std::lock_guard lock(state_->mu);
  if (state_->stopping) return 0;
  const TimerId id = state_->next_id++;
  state_->timers.emplace(std::make_pair(when, id), std::move(fn));
  state_->deadlines.emplace(id, when);
  if (when < state_->wakes_at) {
    state_->wakes_at = when;
    // Under the lock: once it is released, the timer may fire, and its callback may
    // destroy this service (and the state, were it the last reference).
    state_->cv.notify_one();
  }
  return id;
}

// Cancelling never wakes the thread: at worst it wakes once at the cancelled deadline
// and finds nothing due.
bool TimerService::cancel(TimerId id) {
  std::lock_guard lock(state_->mu);
  auto it = state_->deadlines.find(id);
  if (it == state_->deadlines.end()) return false;
  state_->timers.erase(std::make_pair(it->second, id));
  state_->deadlines.erase(it);
  return true;
}

void TimerService::run(const std::shared_ptr<State>& state) {
  std::unique_lock lock(state->mu);
  while (!state->stopping) {
    if (state->timers.empty()) {
      state->wakes_at = Clock::time_point::max();
      state->cv.wait(lock);
      continue;
    }
    auto first = state->timers.begin();
    auto when = first->first.first;
    if (Clock::now() < when) {
      state->wakes_at = when;
      state->cv.wait_until(lock, when);
      continue;
    }
    auto fn = std::move(first->second);
    state->deadlines.erase(first->first.second);
    state->timers.erase(first);
    lock.unlock();
    fn();
    fn = nullptr;  // release captures before re-taking the lock
    lock.lock();
  }
}

}  // namespace oaio::detail
