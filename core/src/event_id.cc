// new_event_id: RFC 9562 UUIDv7, monotonic within the process (WIRE.md §1.3).
//
// Layout: 48-bit Unix ms | ver 7 | 12-bit rand_a | var 10 | 62-bit rand_b. rand_a and
// rand_b together form one 74-bit value. A new millisecond starts it at fresh OS
// random bits with the top bit clear (RFC 9562 §6.2: leaves room to count up). Within
// the same millisecond, or when the clock steps back, the previous value grows by a
// random increment of 1..2^32 ("monotonic random", §6.2 method 2), so ids stay sortable
// and still unguessable. Should the value ever reach 2^74 the timestamp is advanced by
// one millisecond instead (§6.2 "timestamp borrowing"), which keeps order.
#include <pthread.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "generated_text.h"
#include "oaio/envelope.h"
#include "os_random.h"

namespace oaio {
namespace {

constexpr std::uint64_t kRandBBits = 62;
constexpr std::uint64_t kRandBMask = (std::uint64_t{1} << kRandBBits) - 1;
constexpr std::uint64_t kRandAMask = 0xFFF;

struct Generator {
  std::mutex mu;
  detail::RandomPool pool;     // guarded by mu
  std::uint64_t last_ms = 0;   // guarded by mu
  std::uint64_t rand_a = 0;    // guarded by mu; 12 bits
  std::uint64_t rand_b = 0;    // guarded by mu; 62 bits
};

Generator& generator() {
  // Leaked on purpose: ids may be created from static destructors and detached threads.
  static Generator* g = [] {
    auto* gen = new Generator;
    // A forked child must not replay its parent's buffered random bytes or counter.
    // Holding the mutex across fork() keeps the state consistent in the child.
    pthread_atfork([] { generator().mu.lock(); },
                   [] { generator().mu.unlock(); },
                   [] {
                     Generator& c = generator();
                     c.pool.discard();
                     c.last_ms = 0;
                     c.mu.unlock();
                   });
    return gen;
  }();
  return *g;
}

std::uint64_t now_unix_ms() {
  auto d = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

void write_hex(std::uint64_t v, int digits, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = kHex[v & 0xF];
    v >>= 4;
  }
}

}  // namespace

namespace detail {

void write_new_event_id(char (&buf)[kEventIdSize]) {
  Generator& g = generator();
  std::uint64_t ms, a, b;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    const std::uint64_t now = now_unix_ms();
    if (now > g.last_ms) {
      g.last_ms = now;
      g.rand_a = g.pool.next_u64() & 0x7FF;  // top bit clear: half the space is left to count up in
      g.rand_b = g.pool.next_u64() & kRandBMask;
    } else {
      const std::uint64_t inc = (g.pool.next_u64() & 0xFFFFFFFF) + 1;
      g.rand_b += inc;
      if (g.rand_b > kRandBMask) {
        g.rand_b &= kRandBMask;
        if (++g.rand_a > kRandAMask) {
          ++g.last_ms;  // borrow from the future; ids stay ordered
          g.rand_a = 0;
        }
      }
    }
    ms = g.last_ms & 0xFFFFFFFFFFFF;
    a = g.rand_a;
    b = g.rand_b;
  }
  // xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx, y in 8..b (variant 10).
  write_hex(ms >> 16, 8, buf);
  buf[8] = '-';
  write_hex(ms & 0xFFFF, 4, buf + 9);
  buf[13] = '-';
  write_hex(0x7000 | a, 4, buf + 14);
  buf[18] = '-';
  write_hex(0x8000 | (b >> 48), 4, buf + 19);  // b >> 48 is 14 bits
  buf[23] = '-';
  write_hex(b & 0xFFFFFFFFFFFF, 12, buf + 24);
}

}  // namespace detail

std::string new_event_id() {
  char buf[detail::kEventIdSize];
  detail::write_new_event_id(buf);
  return std::string(buf, sizeof buf);
}

}  // namespace oaio
