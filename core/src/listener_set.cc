#include "listener_set.h"

#include <vector>

namespace oaio::detail {

int ListenerSet::add(ConnectionListener listener) {
  std::lock_guard lock(mu_);
  const int id = next_id_++;
  if (!detached_) listeners_.emplace(id, std::move(listener));
  return id;
}

void ListenerSet::remove(int id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

void ListenerSet::dispatch(ConnectionEvent event) {
  std::vector<ConnectionListener> targets;
  {
    std::lock_guard lock(mu_);
    if (detached_) return;
    targets.reserve(listeners_.size());
    for (const auto& [id, listener] : listeners_) targets.push_back(listener);
    ++in_flight_;
    dispatch_thread_ = std::this_thread::get_id();
  }
  for (auto& listener : targets) {
    // Listeners run on a C library thread: an exception must not unwind into it.
    try {
      listener(event);
    } catch (...) {
    }
  }
  {
    std::lock_guard lock(mu_);
    if (--in_flight_ == 0) dispatch_thread_ = std::thread::id();
  }
  idle_.notify_all();
}

void ListenerSet::detach() {
  std::unique_lock lock(mu_);
  detached_ = true;
  listeners_.clear();
  if (dispatch_thread_ == std::this_thread::get_id()) return;  // called from a listener
  idle_.wait(lock, [&] { return in_flight_ == 0; });
}

}  // namespace oaio::detail
