// Real HTTP servers for the SSE bridge's end-to-end tests, each a child process on
// 127.0.0.1 with a free port, killed by its destructor even when a test fails:
//   PySseServer  python/sse_server.py (standard library only): scripted chat streams
//                (tool calls, usage, errors, drops, slow and hanging streams) and an
//                SSE event source; its stdout lines report what it saw.
//   MockLlm      @dwmkerr/mock-llm from tests/node (npm ci there, or scripts/setup.sh).
//   LiteLlm      the LiteLLM proxy from .venv-sse (scripts/setup_python.sh) with a
//                mock_response model, so no real provider is called.
// A missing program fails the test with a message saying how to install it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "support/subprocess.h"
#include "support/test_util.h"

namespace oaio::test {

class PySseServer {
 public:
  ::testing::AssertionResult start() {
    std::string script = std::string(OAIO_SOURCE_DIR) + "/tests/bridges/sse/python/sse_server.py";
    auto p = Subprocess::start({.argv = {"python3", "-u", script}});
    if (!p.ok()) return ::testing::AssertionFailure() << "cannot start python3 (needed for the SSE test server): "
                                                     << p.status().to_string();
    proc_ = std::move(p).value();
    auto line = proc_->read_line(std::chrono::seconds(10));
    if (!line || line->rfind("PORT ", 0) != 0)
      return ::testing::AssertionFailure() << "sse_server.py did not report its port: " << line.value_or("<nothing>");
    port_ = std::stoi(line->substr(5));
    return ::testing::AssertionSuccess();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // Waits for a stdout line starting with `prefix`; returns it, or "" after `timeout`.
  std::string wait_line(const std::string& prefix, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto line = proc_->read_line(left);
      if (!line) return "";
      if (line->rfind(prefix, 0) == 0) return *line;
    }
    return "";
  }

 private:
  std::unique_ptr<Subprocess> proc_;
  int port_ = 0;
};

class MockLlm {
 public:
  // `config_yaml`: mock-llm's rules and streaming settings.
  ::testing::AssertionResult start(const std::string& config_yaml) {
    std::string bin = std::string(OAIO_SOURCE_DIR) + "/tests/node/node_modules/.bin/mock-llm";
    if (!std::filesystem::exists(bin))
      return ::testing::AssertionFailure() << bin << " is missing: run `npm ci` in tests/node (scripts/setup.sh does)";
    config_path_ = std::filesystem::temp_directory_path() /
                   ("oaio-sse-mock-llm-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++) + ".yaml");
    std::ofstream(config_path_) << config_yaml;
    port_ = free_loopback_port();
    auto p = Subprocess::start({.argv = {bin, "--config", config_path_.string()},
                                .env = {{"PORT", std::to_string(port_)}, {"HOST", "127.0.0.1"}},
                                .stderr_mode = SubprocessOptions::Stderr::kCapture});
    if (!p.ok()) return ::testing::AssertionFailure() << "cannot start mock-llm: " << p.status().to_string();
    proc_ = std::move(p).value();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = proc_->read_line(std::chrono::seconds(1));
      if (line && line->find("running on") != std::string::npos) return ::testing::AssertionSuccess();
      if (!line && proc_->eof()) break;
    }
    return ::testing::AssertionFailure() << "mock-llm did not start: " << proc_->captured_stderr();
  }
  ~MockLlm() {
    std::error_code ignored;
    if (!config_path_.empty()) std::filesystem::remove(config_path_, ignored);
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::unique_ptr<Subprocess> proc_;
  std::filesystem::path config_path_;
  int port_ = 0;
};

class LiteLlm {
 public:
  static constexpr const char* kMasterKey = "sk-litellm-master-1234";

  ::testing::AssertionResult start() {
    std::string bin = std::string(OAIO_SOURCE_DIR) + "/.venv-sse/bin/litellm";
    if (!std::filesystem::exists(bin))
      return ::testing::AssertionFailure() << bin << " is missing: run scripts/setup_python.sh (it builds .venv-sse "
                                                     "from tests/bridges/sse/python/requirements.txt)";
    config_path_ = std::filesystem::temp_directory_path() / ("oaio-sse-litellm-" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(config_path_) << "model_list:\n"
                                   "  - model_name: fake-gpt\n"
                                   "    litellm_params:\n"
                                   "      model: openai/fake-gpt\n"
                                   "      api_key: fake-upstream-key\n"
                                   "      mock_response: \"Hello from the LiteLLM mock\"\n"
                                   "general_settings:\n"
                                   "  master_key: "
                                << kMasterKey << "\n";
    port_ = free_loopback_port();
    auto p = Subprocess::start({.argv = {bin, "--config", config_path_.string(), "--host", "127.0.0.1", "--port",
                                         std::to_string(port_)},
                                .env = {{"LITELLM_LOCAL_MODEL_COST_MAP", "True"}, {"LITELLM_TELEMETRY", "False"}},
                                .stderr_mode = SubprocessOptions::Stderr::kCapture});
    if (!p.ok()) return ::testing::AssertionFailure() << "cannot start litellm: " << p.status().to_string();
    proc_ = std::move(p).value();
    // Uvicorn says so on stderr (or stdout, by version) once it accepts connections.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = proc_->read_line(std::chrono::milliseconds(200));
      if ((line && line->find("Uvicorn running") != std::string::npos) ||
          proc_->captured_stderr().find("Uvicorn running") != std::string::npos)
        return ::testing::AssertionSuccess();
      if (!proc_->running()) break;
    }
    return ::testing::AssertionFailure() << "litellm did not start: " << proc_->captured_stderr();
  }
  ~LiteLlm() {
    std::error_code ignored;
    if (!config_path_.empty()) std::filesystem::remove(config_path_, ignored);
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

 private:
  std::unique_ptr<Subprocess> proc_;
  std::filesystem::path config_path_;
  int port_ = 0;
};

}  // namespace oaio::test
