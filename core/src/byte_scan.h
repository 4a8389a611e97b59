// Finding the bytes a JSON string scan or escape has to look at, 16 bytes at a time.
// Used by the scanner (json_scan.cc) and the writer (json_write.cc), whose string
// loops spend most of an envelope's encode and decode time on long plain runs.
#pragma once

#include <bit>
#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace oaio::detail {

// Skips whole 16-byte blocks of `data` (n bytes) in which no byte is < 0x20, >= 0x80 or
// one of `Special...`. Returns the index of the first such byte when a block has one,
// else where the last partial block starts: the caller's own byte loop goes on from
// there (and stops at once on a found byte). Without SSE2 it returns 0.
template <char... Special>
inline std::size_t skip_plain_blocks(const char* data, std::size_t n) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    // A signed compare flags both the control bytes and every byte >= 0x80.
    __m128i hit = _mm_cmplt_epi8(v, space);
    ((hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, _mm_set1_epi8(Special)))), ...);
    if (const int mask = _mm_movemask_epi8(hit)) {
      return i + static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(mask)));
    }
  }
#else
  (void)data;
  (void)n;
#endif
  return i;
}

}  // namespace oaio::detail
