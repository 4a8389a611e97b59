#include "backoff.h"

#include <algorithm>

namespace oaio::host {

bool RestartBudget::try_consume(Clock::time_point now) {
  if (max_ < 0) return true;  // restart: always
  while (!restarts_.empty() && now - restarts_.front() >= window_) restarts_.pop_front();
  if (static_cast<int>(restarts_.size()) >= max_) return false;
  restarts_.push_back(now);
  return true;
}

int RestartBudget::used(Clock::time_point now) {
  while (!restarts_.empty() && now - restarts_.front() >= window_) restarts_.pop_front();
  return static_cast<int>(restarts_.size());
}

std::chrono::milliseconds Backoff::ceiling() const {
  auto base = initial_.count() <= 0 ? 1 : initial_.count();
  long double cap = static_cast<long double>(base) * static_cast<long double>(1ull << std::min(attempt_, 40));
  return std::chrono::milliseconds(static_cast<long long>(std::min<long double>(cap, max_.count())));
}

std::chrono::milliseconds Backoff::next(std::chrono::milliseconds hint) {
  auto cap = ceiling();
  ++attempt_;
  if (hint.count() > 0) return hint;  // the plugin knows when its upstream is back
  std::uniform_int_distribution<long long> dist(0, cap.count());
  return std::chrono::milliseconds(dist(rng_));
}

}  // namespace oaio::host
