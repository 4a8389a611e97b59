#include "reorder_buffer.h"

#include <string>

namespace oaio::detail {

Status ReorderBuffer::push(Envelope frame, std::vector<Envelope>* ready) {
  if (finished_) return Status();  // late frame after the end: ignored
  const std::uint64_t seq = frame.seq;
  if (seq < expected_) return Status();                   // duplicate or late
  if (pending_.count(seq) != 0) return Status();          // duplicate of a pending frame
  if (seq - expected_ >= max_gap_) {                      // subtraction: no overflow
    return Status::backpressure("stream frame seq " + std::to_string(seq) + " is " +
                                std::to_string(seq - expected_) + " ahead of the expected seq " +
                                std::to_string(expected_) + " (max gap " + std::to_string(max_gap_) + ")");
  }
  if (seq != expected_ && pending_.size() >= max_pending_) {
    return Status::backpressure("stream reorder buffer is full (" + std::to_string(max_pending_) +
                                " frames pending, waiting for seq " + std::to_string(expected_) + ")");
  }
  pending_.emplace(seq, std::move(frame));
  for (auto it = pending_.find(expected_); it != pending_.end(); it = pending_.find(expected_)) {
    bool is_final = it->second.is_final;
    ready->push_back(std::move(it->second));
    pending_.erase(it);
    ++expected_;
    if (is_final) {
      finished_ = true;
      pending_.clear();
      break;
    }
  }
  return Status();
}

}  // namespace oaio::detail
