// ScratchBuffer: a string borrowed from a small per-thread pool, for encoded envelopes
// that live only until the transport has taken them (every publish, request and reply
// encodes one). Reusing the buffer saves an allocation of the message's size per
// message. Borrowing is reentrant: an in-process publish runs handlers that publish in
// turn on the same thread, and each level gets a buffer of its own.
//
// Thread-safety: a ScratchBuffer belongs to the thread that made it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace oaio::detail {

class ScratchBuffer {
 public:
  ScratchBuffer() {
    auto& free = pool();
    if (!free.empty()) {
      text_ = std::move(free.back());
      free.pop_back();
    }
    text_.clear();
  }
  ~ScratchBuffer() {
    // Big buffers (a rare large message) are not kept: the pool holds small ones only.
    constexpr std::size_t kKeepCapacity = 64 * 1024;
    constexpr std::size_t kKeepBuffers = 8;
    auto& free = pool();
    if (text_.capacity() <= kKeepCapacity && free.size() < kKeepBuffers) free.push_back(std::move(text_));
  }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;

  std::string* get() { return &text_; }
  const std::string& text() const { return text_; }

 private:
  static std::vector<std::string>& pool() {
    thread_local std::vector<std::string> free;
    return free;
  }
  std::string text_;
};

}  // namespace oaio::detail
