// CallClock: the clock of per-call durations (the latency histograms of plugin
// calls), read twice on every call. On x86 with an invariant TSC (CPUID says so) it
// reads the time-stamp counter, ~8 ns, where clock_gettime costs ~20 ns on a VM;
// ticks become seconds with a rate calibrated once against steady_clock (2 ms at the
// first use). Elsewhere it is steady_clock.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <cstdint>

namespace oaio::host {

class CallClock {
 public:
  using Stamp = std::uint64_t;  // ticks; only differences mean anything

  static Stamp now() noexcept;
  // Seconds from `start` to `end` (0 if end is earlier, as across CPUs it can be).
  static double seconds_between(Stamp start, Stamp end) noexcept;
  // True when now() reads the TSC.
  static bool uses_tsc() noexcept;
};

}  // namespace oaio::host
