// ReorderBuffer: the client-side ordering of stream frames (WIRE.md §5, client step 2).
// Frames are fed in arrival order with their seq; they come out strictly in seq order
// from 0, without gaps, until the first in-order frame with is_final.
//
// Thread-safety: none; the owning stream serialises access.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "oaio/envelope.h"
#include "oaio/status.h"

namespace oaio::detail {

class ReorderBuffer {
 public:
  static constexpr std::size_t kDefaultMaxPending = 256;
  static constexpr std::size_t kDefaultMaxGap = 1024;

  // 0 selects the default for either limit.
  ReorderBuffer(std::size_t max_pending = 0, std::size_t max_gap = 0)
      : max_pending_(max_pending == 0 ? kDefaultMaxPending : max_pending),
        max_gap_(max_gap == 0 ? kDefaultMaxGap : max_gap) {}

  // Feeds one decoded frame. Frames now deliverable in order are appended to *ready.
  // Returns BACKPRESSURE_DROP when the gap or pending limit is exceeded (the stream
  // must end); duplicates and late frames are dropped silently (OK).
  Status push(Envelope frame, std::vector<Envelope>* ready);

  // True once a frame with is_final has been released.
  bool finished() const noexcept { return finished_; }
  std::uint64_t expected() const noexcept { return expected_; }
  std::size_t pending() const noexcept { return pending_.size(); }

 private:
  const std::size_t max_pending_;
  const std::size_t max_gap_;
  std::uint64_t expected_ = 0;
  bool finished_ = false;
  std::map<std::uint64_t, Envelope> pending_;
};

}  // namespace oaio::detail
