// spin_until: polls a condition for a short while before the caller goes to sleep.
//
// Handing work to a sleeping thread costs a futex wake-up and a context switch: 5 us
// on a quiet bare-metal machine, 50-200 us on virtual machines whose idle vCPUs halt.
// The bus hands off twice per in-process call (caller -> executor -> caller), so for
// short calls the wake-ups, not the work, set the latency. A thread that expects a
// hand-off within microseconds (an executor worker that just finished a task, a caller
// blocked in invoke()) first polls for a bounded time; the other side then finds it
// awake. The CPU cost is at most `budget` per idle transition. The Go runtime makes
// the same trade with its spinning threads.
#pragma once

#include <chrono>
#include <thread>

namespace oaio::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Returns true as soon as ready() does; false once `budget` has passed. It polls with
// the CPU's pause hint for the first few hundred nanoseconds, then yields the CPU
// between polls: on a machine with more busy threads than cores, the thread that
// would make ready() true may be waiting for this very core.
template <class Ready>
bool spin_until(Ready&& ready, std::chrono::nanoseconds budget) {
  if (budget.count() <= 0) return ready();
  constexpr unsigned kPauses = 16;
  for (unsigned i = 0; i < kPauses; ++i) {
    if (ready()) return true;
    cpu_relax();
  }
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= deadline) return ready();
    std::this_thread::yield();
  }
  return true;
}

}  // namespace oaio::detail
