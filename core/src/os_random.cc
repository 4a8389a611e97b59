// OS randomness: getrandom(2) with a /dev/urandom fallback (see os_random.h).
#include "os_random.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace oaio::detail {
namespace {

bool read_urandom(std::uint8_t* p, std::size_t n) noexcept {
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  ::close(fd);
  return n == 0;
}

}  // namespace

void os_random_bytes(void* out, std::size_t n) noexcept {
  auto* p = static_cast<std::uint8_t*>(out);
  while (n > 0) {
    ssize_t r = ::getrandom(p, n, 0);
    if (r > 0) {
      p += r;
      n -= static_cast<std::size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    // ENOSYS (very old kernel) or a seccomp filter: try the device instead.
    if (read_urandom(p, n)) return;
    std::fprintf(stderr, "oaio: no OS random source (getrandom: %s)\n", std::strerror(errno));
    std::abort();
  }
}

std::uint64_t RandomPool::next_u64() noexcept {
  if (used_ + sizeof(std::uint64_t) > buf_.size()) {
    os_random_bytes(buf_.data(), buf_.size());
    used_ = 0;
  }
  std::uint64_t v;
  std::memcpy(&v, buf_.data() + used_, sizeof v);
  used_ += sizeof v;
  return v;
}

}  // namespace oaio::detail
