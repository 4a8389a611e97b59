// PythonPeer: one running tests/interop/python/peer.py (the reference OpenAgentIO
// Python SDK playing the other side of an interop test), started from the project
// virtualenv <repo>/.venv that scripts/setup_python.sh creates.
//
// The peer speaks JSON lines (see the docstring at the top of peer.py): every stdout
// line is one object with a "kind"; "call" peers take one command per stdin line and
// answer with lines carrying the command's "id". PythonPeer keeps lines it read but
// nobody asked for yet, so tests can wait for one kind of line while others (events,
// request records) keep arriving.
//
// Failures (a peer that does not start, a line that does not come in time) are
// reported with ADD_FAILURE naming the peer and what was awaited, and the methods
// return nullopt/false, so a test can ASSERT on the result and stop.
//
// Thread-safety: none; use a PythonPeer from one test thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/subprocess.h"

namespace oaio::test {

// <repo>/.venv/bin/python and <repo>/tests/interop/python/peer.py.
std::string python_venv_interpreter();
std::string python_peer_script();
// Empty when the venv and peer.py are in place; otherwise a message that says to run
// scripts/setup_python.sh.
std::string python_venv_problem();

class PythonPeer {
 public:
  using json = nlohmann::json;

  // Starts `peer.py <role> --nats <nats_url> <args...>` and waits (up to
  // `ready_timeout`) for its {"kind":"ready"} line. nullptr after an ADD_FAILURE.
  static std::unique_ptr<PythonPeer> start(const std::string& role, const std::string& nats_url,
                                           const std::vector<std::string>& args,
                                           std::chrono::milliseconds ready_timeout = std::chrono::seconds(30));
  // Closes stdin (the peer closes its bus and exits), then kills it if it lingers.
  ~PythonPeer();
  PythonPeer(const PythonPeer&) = delete;
  PythonPeer& operator=(const PythonPeer&) = delete;

  // The first line (buffered or new) for which `match` is true; nullopt after
  // `timeout` (no ADD_FAILURE: callers decide whether absence is a failure).
  std::optional<json> take(const std::function<bool(const json&)>& match, std::chrono::milliseconds timeout);
  // take() for {"kind": kind}; ADD_FAILURE on timeout.
  std::optional<json> expect(const std::string& kind, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Collects lines of `kind` for up to `window` (a bounded wait to prove absence or
  // count late duplicates); never fails.
  std::vector<json> drain(const std::string& kind, std::chrono::milliseconds window);

  // "call" role: sends `command` (an "id" is added) and returns every line answering
  // it, ending with its terminal line (reply, end, published or exception). nullopt
  // after an ADD_FAILURE when no terminal line came within `timeout`.
  std::optional<std::vector<json>> call(json command, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // call() for one-line answers: the terminal line only.
  std::optional<json> call1(json command, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  const std::string& name() const { return name_; }
  Subprocess& process() { return *process_; }

 private:
  PythonPeer() = default;
  std::optional<json> read_json(std::chrono::steady_clock::time_point deadline);

  std::string name_;
  std::unique_ptr<Subprocess> process_;
  std::vector<json> unclaimed_;  // lines read but not taken yet, in arrival order
  int next_id_ = 1;
};

}  // namespace oaio::test
