// Subprocess: fork/exec with pipes, a reader thread per captured stream, and a kill
// that always runs (see subprocess.h).
#include "support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace oaio::test {
namespace {

constexpr int kExecFailedExitCode = 127;

std::string errno_text(int err) { return std::strerror(err); }

// PATH lookup done before fork (execvp is not async-signal-safe).
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;  // execve fails with ENOENT and the error names it
}

std::vector<std::string> build_environment(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : extra) replaced = replaced || k == key;
    if (!replaced) out.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void child_fail(int error_fd) {
  int err = errno;
  ssize_t ignored = ::write(error_fd, &err, sizeof err);
  (void)ignored;
  ::_exit(kExecFailedExitCode);
}

void mark_all_cloexec_from(int first_fd) {
  // close_range(first, ~0U, CLOSE_RANGE_CLOEXEC): Linux >= 5.11.
  constexpr unsigned kCloseRangeCloexec = 1U << 2;
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, first_fd, ~0U, kCloseRangeCloexec) == 0) return;
#endif
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = first_fd; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace

std::string ExitInfo::to_string() const {
  if (exited) return "exit " + std::to_string(code);
  const char* name = ::strsignal(signal);
  return "signal " + std::to_string(signal) + " (" + (name != nullptr ? name : "?") + ")";
}

Result<std::unique_ptr<Subprocess>> Subprocess::start(SubprocessOptions options) {
  if (options.argv.empty()) return Status::invalid("subprocess: empty argv");

  std::unique_ptr<Subprocess> p(new Subprocess());
  for (const auto& a : options.argv) p->command_ += (p->command_.empty() ? "" : " ") + a;

  // Everything the child needs is prepared before fork.
  std::string program = resolve_program(options.argv[0]);
  std::vector<std::string> argv_strings = options.argv;
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<std::string> env_strings = build_environment(options.env);
  std::vector<char*> envp = c_strings(env_strings);

  int stdin_pair[2];   // [0] ours, [1] the child's stdin
  int stdout_pipe[2];  // [0] ours, [1] the child's stdout
  int stderr_pipe[2] = {-1, -1};
  int error_pipe[2];   // exec failure report; closed by a successful exec
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) != 0)
    return Status::transport("subprocess: socketpair: " + errno_text(errno));
  if (::pipe2(stdout_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(stdin_pair[0]), ::close(stdin_pair[1]);
    return Status::transport("subprocess: pipe: " + errno_text(err));
  }
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    for (int fd : {stdin_pair[0], stdin_pair[1], stdout_pipe[0], stdout_pipe[1]}) ::close(fd);
    return Status::transport("subprocess: pipe: " + errno_text(err));
  }
  using StderrMode = SubprocessOptions::Stderr;
  if (options.stderr_mode == StderrMode::kCapture) {
    if (::pipe2(stderr_pipe, O_CLOEXEC) != 0) stderr_pipe[0] = stderr_pipe[1] = -1;
  } else if (options.stderr_mode == StderrMode::kDiscard) {
    stderr_pipe[1] = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  }
  p->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

  const pid_t parent = ::getpid();
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(kExecFailedExitCode);  // the parent already died
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (::dup2(stdin_pair[1], STDIN_FILENO) < 0) child_fail(error_pipe[1]);
    if (::dup2(stdout_pipe[1], STDOUT_FILENO) < 0) child_fail(error_pipe[1]);
    if (stderr_pipe[1] >= 0 && ::dup2(stderr_pipe[1], STDERR_FILENO) < 0) child_fail(error_pipe[1]);
    mark_all_cloexec_from(3);  // no stray parent descriptor (sockets, pipes) leaks in
    if (cwd != nullptr && ::chdir(cwd) != 0) child_fail(error_pipe[1]);
    ::execve(program.c_str(), argv.data(), envp.data());
    child_fail(error_pipe[1]);
  }

  int fork_errno = errno;
  ::close(stdin_pair[1]);
  ::close(stdout_pipe[1]);
  ::close(error_pipe[1]);
  if (stderr_pipe[1] >= 0) ::close(stderr_pipe[1]);
  auto close_ours = [&] {
    for (int fd : {stdin_pair[0], stdout_pipe[0], error_pipe[0], stderr_pipe[0]})
      if (fd >= 0) ::close(fd);
  };
  if (pid < 0) {
    close_ours();
    return Status::transport("subprocess: fork: " + errno_text(fork_errno));
  }
  p->pid_ = pid;

  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    close_ours();
    int status = 0;
    ::waitpid(pid, &status, 0);
    p->pid_ = -1;
    return Status::transport("subprocess: cannot execute '" + program + "': " + errno_text(child_errno));
  }
  ::close(error_pipe[0]);

  p->stdin_fd_ = stdin_pair[0];
  Subprocess* raw = p.get();
  p->stdout_reader_ = std::thread([raw, fd = stdout_pipe[0]] { raw->reader_loop(fd, true); });
  if (stderr_pipe[0] >= 0) {
    p->stderr_reader_ = std::thread([raw, fd = stderr_pipe[0]] { raw->reader_loop(fd, false); });
  } else {
    p->stderr_eof_ = true;  // nothing to read: captured_stderr() never waits
  }
  return p;
}

Subprocess::~Subprocess() {
  close_stdin();
  if (running()) {
    kill(SIGKILL);
    wait(std::chrono::seconds(30));
  }
  join_readers();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Subprocess::join_readers() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
    (void)ignored;
  }
  if (stdout_reader_.joinable()) stdout_reader_.join();
  if (stderr_reader_.joinable()) stderr_reader_.join();
}

void Subprocess::reader_loop(int fd, bool is_stdout) {
  char buf[65536];
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int r = ::poll(fds, wake_fd_ >= 0 ? 2 : 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (fds[1].revents & POLLIN) != 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(mu_);
    if (!is_stdout) {
      stderr_text_.append(buf, static_cast<size_t>(n));
      continue;
    }
    partial_.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
      lines_.push_back(partial_.substr(start, nl - start));
    partial_.erase(0, start);
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  if (is_stdout) {
    if (!partial_.empty()) lines_.push_back(std::move(partial_));
    partial_.clear();
    stdout_eof_ = true;
  } else {
    stderr_eof_ = true;
  }
  cv_.notify_all();
}

std::optional<std::string> Subprocess::read_line(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !lines_.empty() || stdout_eof_; });
  if (lines_.empty()) return std::nullopt;
  std::string line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

bool Subprocess::eof() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stdout_eof_ && lines_.empty();
}

bool Subprocess::write(std::string_view data) {
  std::lock_guard<std::mutex> lock(stdin_mu_);
  while (!data.empty()) {
    if (stdin_fd_ < 0) return false;
    // Bounded wait for buffer space, so a child that stopped reading cannot hang us.
    pollfd pfd{stdin_fd_, POLLOUT, 0};
    int r = ::poll(&pfd, 1, 30000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t n = ::send(stdin_fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Subprocess::close_stdin() {
  std::lock_guard<std::mutex> lock(stdin_mu_);
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
}

bool Subprocess::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pid_ > 0 && !exit_.has_value();
}

void Subprocess::kill(int sig) {
  if (!running()) return;
  if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);
}

std::optional<ExitInfo> Subprocess::wait(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> wait_lock(wait_mu_);  // one waitpid caller at a time
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (exit_.has_value()) return exit_;
    if (pid_ <= 0) return std::nullopt;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      ExitInfo info;
      if (r == pid_ && WIFEXITED(status)) {
        info.exited = true;
        info.code = WEXITSTATUS(status);
      } else if (r == pid_ && WIFSIGNALED(status)) {
        info.signal = WTERMSIG(status);
      }
      std::lock_guard<std::mutex> lock(mu_);
      exit_ = info;
      return exit_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

ExitInfo Subprocess::stop(std::chrono::milliseconds grace) {
  close_stdin();
  if (auto e = wait(grace)) return *e;
  kill(SIGTERM);
  if (auto e = wait(grace)) return *e;
  kill(SIGKILL);
  if (auto e = wait(std::chrono::seconds(30))) return *e;
  return ExitInfo{};
}

std::string Subprocess::captured_stderr() const {
  std::unique_lock<std::mutex> lock(mu_);
  // Once the child was reaped, what it wrote last may still be in the pipe: wait (a
  // little) for the reader to reach EOF, so a test sees everything the child said.
  if (exit_.has_value()) cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stderr_eof_; });
  return stderr_text_;
}

}  // namespace oaio::test
