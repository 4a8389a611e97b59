#include "call_clock.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#define OAIO_HAVE_TSC 1
#else
#define OAIO_HAVE_TSC 0
#endif

namespace oaio::host {
namespace {

struct Calibration {
  bool tsc = false;
  double seconds_per_tick = 1e-9;  // steady_clock nanoseconds when !tsc
};

std::uint64_t steady_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

#if OAIO_HAVE_TSC
// CPUID 8000_0007h EDX bit 8: the TSC runs at a constant rate in every power state,
// so ticks measure time (Intel SDM vol. 3 §17.17.1).
bool invariant_tsc() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0x80000000u, nullptr) < 0x80000007u) return false;
  if (!__get_cpuid(0x80000007u, &a, &b, &c, &d)) return false;
  return (d & (1u << 8)) != 0;
}
#endif

Calibration calibrate() noexcept {
  Calibration c;
#if OAIO_HAVE_TSC
  if (!invariant_tsc()) return c;
  const std::uint64_t s0 = steady_ns();
  const std::uint64_t t0 = __rdtsc();
  std::uint64_t s1 = s0;
  while (s1 - s0 < 2'000'000) s1 = steady_ns();
  const std::uint64_t t1 = __rdtsc();
  if (t1 <= t0) return c;
  c.tsc = true;
  c.seconds_per_tick = static_cast<double>(s1 - s0) * 1e-9 / static_cast<double>(t1 - t0);
#endif
  return c;
}

const Calibration& calibration() noexcept {
  static const Calibration c = calibrate();
  return c;
}

}  // namespace

CallClock::Stamp CallClock::now() noexcept {
#if OAIO_HAVE_TSC
  if (calibration().tsc) return __rdtsc();
#endif
  return steady_ns();
}

double CallClock::seconds_between(Stamp start, Stamp end) noexcept {
  if (end <= start) return 0.0;
  return static_cast<double>(end - start) * calibration().seconds_per_tick;
}

bool CallClock::uses_tsc() noexcept { return calibration().tsc; }

}  // namespace oaio::host
