// Randomness from the operating system's CSPRNG, with a buffered pool so hot paths
// (one UUIDv7 per envelope) do not pay a system call per value.
//
// Thread-safety: os_random_bytes() is thread-safe. A RandomPool is not; its owner
// serialises access (event_id.cc holds it under its own mutex).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace oaio::detail {

// Fills `out` with `n` bytes from getrandom(2), falling back to /dev/urandom.
// Aborts the process if neither source works: without an OS CSPRNG no id or
// trace id we generate could be trusted to be unique, and there is no safe default.
void os_random_bytes(void* out, std::size_t n) noexcept;

// Hands out OS random bytes from a 4 KiB buffer refilled by os_random_bytes, so a
// UUID costs about one system call per 400 ids. The bytes are the kernel's CSPRNG
// output, untouched.
class RandomPool {
 public:
  // A random 64-bit value.
  std::uint64_t next_u64() noexcept;
  // Drops buffered bytes so they are never handed out again. Called in a forked
  // child, which would otherwise repeat its parent's upcoming values.
  void discard() noexcept { used_ = buf_.size(); }

 private:
  std::array<std::uint8_t, 4096> buf_{};
  std::size_t used_ = buf_.size();  // starts empty: the first call fills it
};

}  // namespace oaio::detail
