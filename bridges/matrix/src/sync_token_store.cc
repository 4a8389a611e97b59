#include "sync_token_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace oaio::matrix {

SyncTokenStore::SyncTokenStore(std::string dir, std::string file_name) : dir_(std::move(dir)) {
  if (!dir_.empty()) path_ = (std::filesystem::path(dir_) / file_name).string();
}

std::string SyncTokenStore::load() const {
  if (path_.empty()) return memory_;
  std::ifstream in(path_);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string SyncTokenStore::save(const std::string& token) {
  if (path_.empty()) {
    memory_ = token;
    return {};
  }
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  std::string data = token + "\n";
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string e = std::strerror(errno);
      ::close(fd);
      return "cannot write " + tmp + ": " + e;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) return "cannot rename " + tmp + ": " + std::strerror(errno);
  return {};
}

}  // namespace oaio::matrix
