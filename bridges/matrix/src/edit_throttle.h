// EditThrottle: decides when a growing streamed reply may be edited into its Matrix
// message: at most one edit per `interval`, plus the final one whenever it comes.
// Time is passed in, so tests drive it without sleeping.
// THREAD: not thread-safe (the relay worker owns it).
#pragma once

#include <chrono>
#include <optional>

namespace oaio::matrix {

class EditThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit EditThrottle(std::chrono::milliseconds interval) : interval_(interval) {}

  // True if an intermediate edit may be sent at `now`; the caller then calls sent().
  bool may_send(Clock::time_point now) const;
  // When the next intermediate edit becomes allowed (now if already).
  Clock::time_point next_allowed(Clock::time_point now) const;
  void sent(Clock::time_point now) { last_ = now; }

 private:
  std::chrono::milliseconds interval_;
  std::optional<Clock::time_point> last_;
};

}  // namespace oaio::matrix
