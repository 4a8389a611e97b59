// Restart back-off and budget for a supervised bridge: full-jitter exponential
// back-off (delay drawn uniformly from [0, min(max, initial * 2^attempt)]) and a budget
// of at most N restarts within a sliding window.
//
// Thread-safety: none; owned by one bridge runner.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <random>

namespace oaio::host {

class RestartBudget {
 public:
  using Clock = std::chrono::steady_clock;
  RestartBudget(int max_restarts, std::chrono::seconds window) : max_(max_restarts), window_(window) {}
  // Records a restart at `now`; false when it would exceed the budget.
  bool try_consume(Clock::time_point now);
  int used(Clock::time_point now);

 private:
  int max_;
  std::chrono::seconds window_;
  std::deque<Clock::time_point> restarts_;
};

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, std::uint64_t seed = std::random_device{}())
      : initial_(initial), max_(max), rng_(seed) {}
  // The next delay; `hint` (a plugin's retry-after) wins when non-zero.
  std::chrono::milliseconds next(std::chrono::milliseconds hint = std::chrono::milliseconds(0));
  // The cap for the current attempt (before jitter), for tests and logs.
  std::chrono::milliseconds ceiling() const;
  void reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_, max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace oaio::host
