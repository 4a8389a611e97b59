// ChildProcess: a child `oaio` for subprocess isolation. Started with fork/exec, in its
// own process group, with PR_SET_PDEATHSIG so it never outlives the host; its stdout is
// a pipe the supervisor reads ("ready" lines), its stderr is inherited (the host log).
//
// Thread-safety: wait_exit() from one thread, terminate()/kill() from any.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "oaio/result.h"

namespace oaio::host {

class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv);
  ~ChildProcess();  // kills and reaps the child if still running

  // Reads one stdout line; nullopt on EOF or when `timeout` passes.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Blocks until the child exits (or `timeout`); returns a description like
  // "exited with status 1" or "killed by signal 9", nullopt on timeout.
  std::optional<std::string> wait_exit(std::chrono::milliseconds timeout);
  void terminate();  // SIGTERM to the process group
  void kill();       // SIGKILL to the process group
  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }

 private:
  ChildProcess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_;
  int out_fd_;
  bool exited_ = false;
  std::string buffer_;
};

}  // namespace oaio::host
