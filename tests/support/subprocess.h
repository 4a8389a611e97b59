// Subprocess: a child process for tests (peer programs in other languages, servers,
// CLIs), driven through its stdin and read line by line from its stdout, with a
// deadline on every read. The child never outlives the test:
//   - the destructor kills it (SIGKILL to its process group) and reaps it, so a
//     failing ASSERT that returns early still cleans up;
//   - the child is started with PR_SET_PDEATHSIG = SIGKILL, so it also dies when the
//     test process crashes or is killed. Linux delivers that signal when the *thread*
//     that started the child exits, so start children from the test's main thread
//     (or any thread that lives at least as long as the child), never from a
//     short-lived helper thread.
//
//   auto peer = Subprocess::start({.argv = {python, "peer.py", "serve"}});
//   ASSERT_TRUE(peer.ok()) << peer.status().to_string();
//   auto line = (*peer)->read_line(std::chrono::seconds(10));   // nullopt: timeout/EOF
//   (*peer)->write_line(R"({"op":"invoke"})");
//   (*peer)->close_stdin();                                     // polite stop
//   auto exit = (*peer)->wait(std::chrono::seconds(5));
//
// Each child gets its own process group (so kill() also reaches its own children),
// stdin connected to a socket owned by this object (writes never raise SIGPIPE), and
// stdout read by a background thread into a line queue. stderr is inherited by
// default, so the child's diagnostics show up in the test log.
//
// Thread-safety: read_line() is for one consumer thread at a time; write*(),
// close_stdin(), kill(), wait() and the accessors may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "oaio/result.h"

namespace oaio::test {

struct SubprocessOptions {
  // argv[0] is the program: an absolute/relative path, or a name looked up in PATH.
  std::vector<std::string> argv;
  // Variables added to (or replacing in) the inherited environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Working directory of the child; empty = inherit.
  std::string cwd;
  enum class Stderr {
    kInherit,  // the child writes to the test's stderr (default; visible in ctest logs)
    kCapture,  // kept in memory, see Subprocess::captured_stderr()
    kDiscard,  // /dev/null
  };
  Stderr stderr_mode = Stderr::kInherit;
};

// How a child ended.
struct ExitInfo {
  bool exited = false;  // returned from main / called exit
  int code = 0;         // exit code when exited
  int signal = 0;       // terminating signal otherwise
  bool success() const { return exited && code == 0; }
  std::string to_string() const;  // "exit 0", "signal 9 (Killed)"
};

class Subprocess {
 public:
  // Forks and execs options.argv. Fails with INVALID_REQUEST for an empty argv, and
  // with TRANSPORT_FAILURE (naming the program and errno text) when the program cannot
  // be executed; the child is then already reaped.
  static Result<std::unique_ptr<Subprocess>> start(SubprocessOptions options);

  // Kills the child's process group with SIGKILL unless it was already reaped, reaps
  // it, and joins the reader threads.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // The command line, for messages ("python3 peer.py serve").
  const std::string& command() const { return command_; }

  // The next stdout line without its '\n' (a final unterminated line counts too).
  // nullopt when `timeout` passes first or when stdout reached EOF with nothing left;
  // eof() tells which.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // True once stdout reached EOF and every line was consumed by read_line().
  bool eof() const;

  // Writes to the child's stdin. False when stdin is closed or the child stopped
  // reading (it exited); never raises SIGPIPE.
  bool write(std::string_view data);
  bool write_line(std::string_view line) { return write(std::string(line) + "\n"); }
  // Closes stdin: a child reading it sees EOF. Idempotent.
  void close_stdin();

  // Sends `sig` to the child's process group (the child and whatever it started).
  // No-op once the child was reaped.
  void kill(int sig);
  // Waits up to `timeout` for the child to end and reaps it; nullopt if it is still
  // running. After the child was reaped, returns the same ExitInfo again at once.
  std::optional<ExitInfo> wait(std::chrono::milliseconds timeout);
  // Polite stop: close stdin, wait `grace`, then SIGTERM and `grace` again, then
  // SIGKILL. Returns how the child ended.
  ExitInfo stop(std::chrono::milliseconds grace = std::chrono::seconds(3));
  // True while the child has not been reaped (it may be a zombie already).
  bool running() const;

  // Everything the child wrote to stderr so far (Stderr::kCapture only); after wait()
  // reaped the child, everything it wrote (waits up to 2 s for the pipe to drain).
  std::string captured_stderr() const;

 private:
  Subprocess() = default;
  void reader_loop(int fd, bool is_stdout);
  void join_readers();

  pid_t pid_ = -1;
  std::string command_;
  int stdin_fd_ = -1;   // socket; guarded by stdin_mu_
  int wake_fd_ = -1;    // eventfd that stops the reader threads
  std::mutex stdin_mu_;
  std::mutex wait_mu_;  // serialises waitpid() in wait()

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // line queue and EOF changes
  std::deque<std::string> lines_;  // guarded by mu_
  std::string partial_;            // guarded by mu_: stdout bytes after the last '\n'
  bool stdout_eof_ = false;        // guarded by mu_
  bool stderr_eof_ = false;        // guarded by mu_
  std::string stderr_text_;        // guarded by mu_
  std::optional<ExitInfo> exit_;   // guarded by mu_

  std::thread stdout_reader_;
  std::thread stderr_reader_;
};

}  // namespace oaio::test
