// LogLimiter: one log line per interval for a condition that can repeat with every
// message (a subscription dropping a flood of events, a peer sending garbage), so that
// an overload does not also become a flood of log lines. The lines held back are
// counted, and the next line that goes out reports how many there were.
//
// Thread-safety: admit() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace oaio::detail {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::nanoseconds interval = std::chrono::seconds(5)) : interval_ns_(interval.count()) {}

  // True when this occurrence should be logged: the first one, and then the first one
  // at least `interval` after the last logged. *held_back is then the number not
  // logged since the last logged one.
  bool admit(std::uint64_t* held_back) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t next = next_ns_.load(std::memory_order_relaxed);
    if (now >= next && next_ns_.compare_exchange_strong(next, now + interval_ns_, std::memory_order_relaxed)) {
      *held_back = held_back_.exchange(0, std::memory_order_relaxed);
      return true;
    }
    held_back_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // " (N more since the last report)" for a line admitted with N held back, else "".
  static std::string held_back_note(std::uint64_t held_back) {
    return held_back == 0 ? std::string() : " (" + std::to_string(held_back) + " more since the last report)";
  }

 private:
  const std::int64_t interval_ns_;
  std::atomic<std::int64_t> next_ns_{std::numeric_limits<std::int64_t>::min()};
  std::atomic<std::uint64_t> held_back_{0};
};

}  // namespace oaio::detail
