#include "stdio_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>

extern char** environ;

namespace oaio::mcp {
namespace {

std::string errno_text(int err) {
  char buf[256];
  return std::string(strerror_r(err, buf, sizeof buf));
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

}  // namespace

StdioTransport::StdioTransport(StdioOptions options) : options_(std::move(options)) {}

StdioTransport::~StdioTransport() { close(); }

std::optional<CallError> StdioTransport::open(TransportCallbacks callbacks) {
  cb_ = std::move(callbacks);
  if (options_.command.empty()) return CallError{OAIO_ERR_INVALID_REQUEST, "stdio transport: no command", 0};
  int in[2], out[2], err[2];
  // stdin is a socket, not a pipe: send(MSG_NOSIGNAL) never raises SIGPIPE in the
  // host when the server has died (the host does not ignore SIGPIPE).
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "pipe: " + errno_text(errno)};
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "pipe: " + errno_text(errno)};
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "pipe: " + errno_text(errno)};
  }
  // argv and envp built before spawning (posix_spawn is safe in a threaded process).
  std::vector<std::string> argv_s;
  argv_s.push_back(options_.command);
  for (const auto& a : options_.args) argv_s.push_back(a);
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    std::size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : options_.env) env[k] = v;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  if (!options_.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options_.cwd.c_str());
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // The host's own descriptors (bus sockets, the gateway) are none of the server's business.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  // Own process group (close() signals the whole group, reaching grandchildren such
  // as the node process behind an npx wrapper); default signal dispositions.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, options_.command.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    return CallError{OAIO_ERR_AGENT_UNAVAILABLE,
                     "cannot start MCP server '" + options_.command + "': " + errno_text(rc)};
  }
  pid_ = pid;
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  stdout_thread_ = std::thread([this] { read_stdout(); });
  stderr_thread_ = std::thread([this] { read_stderr(); });
  return std::nullopt;
}

std::optional<CallError> StdioTransport::send(const std::string& frame, std::optional<int64_t>, std::string_view) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (stdin_fd_ < 0) return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "MCP server stdin is closed"};
  std::string line = frame;
  line.push_back('\n');
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::send(stdin_fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "writing to the MCP server failed: " + errno_text(errno)};
    }
    done += static_cast<std::size_t>(n);
  }
  return std::nullopt;
}

void StdioTransport::read_stdout() {
  LineSplitter splitter(
      options_.max_message_bytes, [this](std::string_view line) {
        if (cb_.on_frame) cb_.on_frame(line);
      },
      [this](std::string_view head, std::string_view tail, std::size_t length) {
        if (cb_.on_oversized) cb_.on_oversized(head, tail, length);
      });
  char buf[65536];
  while (true) {
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    splitter.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  if (closing_.load()) return;
  // The server closed stdout: it exited or is about to. Reap it to report how.
  reap(2000);
  std::string why;
  {
    std::lock_guard<std::mutex> lock(reap_mu_);
    why = reaped_ ? "MCP server " + exit_text_ : "MCP server closed its stdout";
  }
  if (!closing_.load() && cb_.on_closed) cb_.on_closed(CallError{OAIO_ERR_AGENT_UNAVAILABLE, why, 1});
}

void StdioTransport::read_stderr() {
  LineSplitter splitter(
      64 * 1024,
      [this](std::string_view line) {
        if (cb_.log) cb_.log(OAIO_LOG_INFO, std::string("server stderr: ").append(line));
      },
      [this](std::string_view, std::string_view, std::size_t length) {
        if (cb_.log) cb_.log(OAIO_LOG_INFO, "server stderr: (a line of " + std::to_string(length) + " bytes)");
      });
  char buf[8192];
  while (true) {
    ssize_t n = ::read(stderr_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    splitter.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  splitter.feed("\n");
}

bool StdioTransport::reap(int wait_ms) {
  std::lock_guard<std::mutex> lock(reap_mu_);
  if (reaped_ || pid_ <= 0) return true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      exit_text_ = r == pid_ ? describe_status(status) : "ended";
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void StdioTransport::close() {
  if (closing_.exchange(true)) {
    if (stdout_thread_.joinable() && stdout_thread_.get_id() != std::this_thread::get_id()) stdout_thread_.join();
    if (stderr_thread_.joinable()) stderr_thread_.join();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    close_fd(stdin_fd_);  // a well-behaved stdio server exits on EOF
  }
  if (pid_ > 0 && !reap(1000)) {
    ::kill(-pid_, SIGTERM);
    if (!reap(2000)) {
      ::kill(-pid_, SIGKILL);
      reap(5000);
    }
  }
  // The group may still hold grandchildren that keep the pipes open.
  if (pid_ > 0) ::kill(-pid_, SIGKILL);
  if (stdout_thread_.joinable()) stdout_thread_.join();
  if (stderr_thread_.joinable()) stderr_thread_.join();
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
}

}  // namespace oaio::mcp
