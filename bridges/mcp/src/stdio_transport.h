// StdioTransport: the MCP server as a child process speaking newline-delimited JSON on
// its stdin/stdout. stderr lines go to the host log (info level). The child runs in its
// own process group and is always reaped: when it exits by itself (then on_closed
// reports its exit status) and in close() (stdin closed, SIGTERM after a grace period,
// SIGKILL after another).
// THREAD: send() from any thread (serialised by a mutex); one reader thread for stdout,
// one for stderr, both joined by close().
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "transport.h"

namespace oaio::mcp {

struct StdioOptions {
  std::string command;  // looked up in PATH when it has no '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to / replacing the host's
  std::string cwd;                                        // empty = the host's
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

class StdioTransport : public Transport {
 public:
  explicit StdioTransport(StdioOptions options);
  ~StdioTransport() override;

  std::optional<CallError> open(TransportCallbacks callbacks) override;
  std::optional<CallError> send(const std::string& frame, std::optional<int64_t> request_id,
                                std::string_view method) override;
  void close() override;
  std::string_view kind() const override { return "stdio"; }

  pid_t pid() const { return pid_; }

 private:
  void read_stdout();
  void read_stderr();
  // Reaps the child, waiting up to `wait_ms`; true once reaped. Sets exit_text_.
  bool reap(int wait_ms);

  const StdioOptions options_;
  TransportCallbacks cb_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;   // guarded by write_mu_
  int stdout_fd_ = -1;  // reader thread
  int stderr_fd_ = -1;  // stderr thread
  std::mutex write_mu_;
  std::mutex reap_mu_;
  bool reaped_ = false;    // guarded by reap_mu_
  std::string exit_text_;  // guarded by reap_mu_
  std::atomic<bool> closing_{false};
  std::thread stdout_thread_, stderr_thread_;
};

}  // namespace oaio::mcp
