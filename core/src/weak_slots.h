// WeakSlots: weak references to the objects in flight (inbound calls being served), in
// reusable slots: adding and removing one allocates nothing once the bus has warmed
// up, which a hash map (a node per entry) does not manage. The slot index is the key.
//
// Thread-safety: none; the owner's mutex guards it.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace oaio::detail {

template <class T>
class WeakSlots {
 public:
  std::size_t add(std::weak_ptr<T> object) {
    ++live_;
    if (!free_.empty()) {
      std::size_t slot = free_.back();
      free_.pop_back();
      slots_[slot] = std::move(object);
      return slot;
    }
    slots_.push_back(std::move(object));
    return slots_.size() - 1;
  }
  // REQUIRES: `slot` came from add() and was not removed since.
  void remove(std::size_t slot) {
    slots_[slot].reset();
    free_.push_back(slot);
    --live_;
  }
  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // The objects still alive.
  std::vector<std::shared_ptr<T>> live() const {
    std::vector<std::shared_ptr<T>> out;
    for (const auto& w : slots_)
      if (auto p = w.lock()) out.push_back(std::move(p));
    return out;
  }

 private:
  std::vector<std::weak_ptr<T>> slots_;
  std::vector<std::size_t> free_;
  std::size_t live_ = 0;
};

}  // namespace oaio::detail
