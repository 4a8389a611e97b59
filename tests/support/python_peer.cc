#include "support/python_peer.h"

#include <unistd.h>

#include <cstdio>

#include <gtest/gtest.h>

namespace oaio::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kSetupHint = "run scripts/setup_python.sh (it creates <repo>/.venv with openagentio==0.3.0)";

bool is_terminal_kind(const json& line) {
  const std::string kind = line.value("kind", "");
  return kind == "reply" || kind == "end" || kind == "published" || kind == "exception";
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace

std::string python_venv_interpreter() { return std::string(OAIO_SOURCE_DIR) + "/.venv/bin/python"; }

std::string python_peer_script() { return std::string(OAIO_SOURCE_DIR) + "/tests/interop/python/peer.py"; }

std::string python_venv_problem() {
  if (::access(python_venv_interpreter().c_str(), X_OK) != 0)
    return "the Python virtualenv is missing (" + python_venv_interpreter() + " not found): " + kSetupHint;
  if (::access(python_peer_script().c_str(), R_OK) != 0) return python_peer_script() + " is missing";
  return {};
}

std::unique_ptr<PythonPeer> PythonPeer::start(const std::string& role, const std::string& nats_url,
                                              const std::vector<std::string>& args,
                                              std::chrono::milliseconds ready_timeout) {
  if (std::string problem = python_venv_problem(); !problem.empty()) {
    ADD_FAILURE() << problem;
    return nullptr;
  }
  SubprocessOptions options;
  options.argv = {python_venv_interpreter(), python_peer_script(), role, "--nats", nats_url};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  // No __pycache__ in the source tree; UTF-8 whatever the locale.
  options.env = {{"PYTHONDONTWRITEBYTECODE", "1"}, {"PYTHONUNBUFFERED", "1"}, {"PYTHONIOENCODING", "utf-8"}};
  auto process = Subprocess::start(options);
  if (!process.ok()) {
    ADD_FAILURE() << "cannot start the Python peer: " << process.status().to_string() << "; " << kSetupHint;
    return nullptr;
  }
  std::unique_ptr<PythonPeer> peer(new PythonPeer());
  peer->process_ = std::move(process).value();
  peer->name_ = "peer.py " + role;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--agent-id") peer->name_ += " (" + args[i + 1] + ")";

  auto ready = peer->take([](const json& l) { return l.value("kind", "") == "ready"; }, ready_timeout);
  if (!ready) {
    ADD_FAILURE() << peer->name_ << " did not print its ready line within " << ready_timeout.count()
                  << " ms (exited: " << (peer->process_->eof() ? "yes" : "no")
                  << "; its traceback, if any, is on stderr above). If openagentio or nats cannot be imported, "
                  << kSetupHint;
    return nullptr;
  }
  return peer;
}

PythonPeer::~PythonPeer() {
  if (process_) process_->stop(std::chrono::seconds(3));
}

std::optional<json> PythonPeer::read_json(Clock::time_point deadline) {
  for (;;) {
    auto line = process_->read_line(remaining(deadline));
    if (!line) return std::nullopt;
    json parsed = json::parse(*line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) return parsed;
    std::fprintf(stderr, "[%s] non-JSON stdout line: %s\n", name_.c_str(), line->c_str());
  }
}

std::optional<json> PythonPeer::take(const std::function<bool(const json&)>& match,
                                     std::chrono::milliseconds timeout) {
  for (auto it = unclaimed_.begin(); it != unclaimed_.end(); ++it) {
    if (match(*it)) {
      json found = std::move(*it);
      unclaimed_.erase(it);
      return found;
    }
  }
  auto deadline = Clock::now() + timeout;
  while (auto line = read_json(deadline)) {
    if (match(*line)) return line;
    unclaimed_.push_back(std::move(*line));
  }
  return std::nullopt;
}

std::optional<json> PythonPeer::expect(const std::string& kind, std::chrono::milliseconds timeout) {
  auto line = take([&](const json& l) { return l.value("kind", "") == kind; }, timeout);
  if (!line) {
    ADD_FAILURE() << name_ << ": no \"" << kind << "\" line within " << timeout.count() << " ms"
                  << (process_->eof() ? " (the peer exited; see its stderr above)" : "");
  }
  return line;
}

std::vector<json> PythonPeer::drain(const std::string& kind, std::chrono::milliseconds window) {
  std::vector<json> out;
  auto deadline = Clock::now() + window;
  auto is_kind = [&](const json& l) { return l.value("kind", "") == kind; };
  while (auto line = take(is_kind, remaining(deadline))) out.push_back(std::move(*line));
  return out;
}

std::optional<std::vector<json>> PythonPeer::call(json command, std::chrono::milliseconds timeout) {
  const int id = next_id_++;
  command["id"] = id;
  if (!process_->write_line(command.dump())) {
    ADD_FAILURE() << name_ << ": cannot write a command (the peer exited?)";
    return std::nullopt;
  }
  std::vector<json> lines;
  auto deadline = Clock::now() + timeout;
  auto mine = [&](const json& l) { return l.contains("id") && l["id"] == id; };
  while (auto line = take(mine, remaining(deadline))) {
    lines.push_back(std::move(*line));
    if (is_terminal_kind(lines.back())) return lines;
  }
  ADD_FAILURE() << name_ << ": no answer to command " << command.dump().substr(0, 300) << " within "
                << timeout.count() << " ms (" << lines.size() << " partial lines)";
  return std::nullopt;
}

std::optional<json> PythonPeer::call1(json command, std::chrono::milliseconds timeout) {
  auto lines = call(std::move(command), timeout);
  if (!lines) return std::nullopt;
  return lines->back();
}

}  // namespace oaio::test
