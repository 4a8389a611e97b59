#include "edit_throttle.h"

namespace oaio::matrix {

bool EditThrottle::may_send(Clock::time_point now) const { return !last_ || now - *last_ >= interval_; }

EditThrottle::Clock::time_point EditThrottle::next_allowed(Clock::time_point now) const {
  if (!last_) return now;
  auto at = *last_ + interval_;
  return at > now ? at : now;
}

}  // namespace oaio::matrix
