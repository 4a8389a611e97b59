// Real MCP servers for the mcp bridge tests, each started on 127.0.0.1 (HTTP: a free
// port) as a test::Subprocess that is killed when the test ends, even on failure:
//   - @modelcontextprotocol/server-everything (tests/node, pinned in package.json);
//   - tests/bridges/mcp/python/test_server.py on the Python mcp SDK (.venv-mcp,
//     built by scripts/setup_python.sh).
// A missing package fails the test with what to run; nothing is skipped.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/subprocess.h"

namespace oaio::mcp::test {

namespace fs = std::filesystem;

inline std::string everything_bin() { return std::string(OAIO_SOURCE_DIR) + "/tests/node/node_modules/.bin/mcp-server-everything"; }
inline std::string python_bin() { return std::string(OAIO_SOURCE_DIR) + "/.venv-mcp/bin/python"; }
inline std::string test_server_py() { return std::string(OAIO_SOURCE_DIR) + "/tests/bridges/mcp/python/test_server.py"; }
inline std::string loopback_mjs() { return std::string(OAIO_SOURCE_DIR) + "/tests/bridges/mcp/node/loopback.mjs"; }

inline ::testing::AssertionResult have_everything() {
  if (fs::exists(everything_bin())) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << everything_bin()
                                       << " is missing: run scripts/setup.sh (npm ci in tests/node)";
}
inline ::testing::AssertionResult have_python_mcp() {
  if (fs::exists(python_bin())) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << python_bin() << " is missing: run scripts/setup_python.sh";
}

// A free TCP port on 127.0.0.1 (bound and released; the server binds it next).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

inline bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A scratch directory (markers shared with test_server.py), removed at the end.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = fs::temp_directory_path() / ("oaio-mcp-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  bool has(const std::string& name) const { return fs::exists(path_ / name); }

 private:
  fs::path path_;
};

// An HTTP MCP server process; `url` is its endpoint.
struct HttpServer {
  std::unique_ptr<oaio::test::Subprocess> process;
  int port = 0;
  std::string url;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;

  ::testing::AssertionResult start() {
    oaio::test::SubprocessOptions o;
    o.argv = argv;
    o.env = env;
    o.stderr_mode = oaio::test::SubprocessOptions::Stderr::kCapture;
    auto p = oaio::test::Subprocess::start(o);
    if (!p.ok()) return ::testing::AssertionFailure() << p.status().to_string();
    process = std::move(p).value();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (port_open(port)) return ::testing::AssertionSuccess();
      if (!process->running())
        return ::testing::AssertionFailure() << "MCP server exited: " << process->captured_stderr();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ::testing::AssertionFailure() << "MCP server did not listen on port " << port << ": "
                                         << process->captured_stderr();
  }
  void kill() {
    if (process) {
      process->kill(9);
      process->wait(std::chrono::seconds(5));
    }
  }
};

inline HttpServer everything_http() {
  HttpServer s;
  s.port = free_port();
  s.url = "http://127.0.0.1:" + std::to_string(s.port) + "/mcp";
  s.argv = {everything_bin(), "streamableHttp"};
  s.env = {{"PORT", std::to_string(s.port)}, {"NODE_OPTIONS", "--import=" + loopback_mjs()}};
  return s;
}

inline HttpServer python_http(const std::string& state_dir, bool json_response = false,
                              const std::string& require_token = "") {
  HttpServer s;
  s.port = free_port();
  s.url = "http://127.0.0.1:" + std::to_string(s.port) + "/mcp/";
  s.argv = {python_bin(), test_server_py(), "http", "--port", std::to_string(s.port)};
  if (json_response) s.argv.push_back("--json-response");
  s.env = {{"MCP_TEST_STATE_DIR", state_dir}, {"MCP_TEST_REQUIRE_TOKEN", require_token}};
  return s;
}

// Polls `pred` every 20 ms until true or `timeout`.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace oaio::mcp::test
