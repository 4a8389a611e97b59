// Helpers for tests that run a whole host (HostApp) with real plugins: a scratch
// directory holding plugins/ (copies of built .so files), manifests/ and state/, the
// options to start a host on it, and a start that waits until every bridge runs.
// Used by tests/host and the bridge suites under tests/bridges. Header-only: link the
// test with oaio_host.
//
//   HostDir dir;
//   dir.add_plugin(built_plugin("mcp"));
//   dir.add_manifest("mcp.yaml", "bridges:\n  - name: everything\n    plugin: mcp\n ...");
//   auto app = start_host(dir.options());            // in-process bus
//   auto app = start_host(dir.options(nats.url()));  // or a real nats-server
//   app->connection().default_bus().invoke_payload("everything.echo", ...);
//
// The directory is removed by the destructor, so a failing test leaves nothing behind.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "host_app.h"
#include "oaio/bus.h"

namespace oaio::test {

// The build tree's plugins directory entry for `name` (e.g. "mcp" -> <build>/plugins/mcp.so).
inline std::string built_plugin(const std::string& name) {
  return std::string(OAIO_BINARY_DIR) + "/plugins/" + name + ".so";
}

// A scratch host directory under the system temp dir; unique per process and instance.
class HostDir {
 public:
  HostDir() {
    static std::atomic<int> counter{0};
    root_ = std::filesystem::temp_directory_path() /
            ("oaio-host-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "plugins");
    std::filesystem::create_directories(root_ / "manifests");
  }
  ~HostDir() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  HostDir(const HostDir&) = delete;
  HostDir& operator=(const HostDir&) = delete;

  // Copies a built plugin in, mode 0755 (the loader refuses group/world-writable files).
  void add_plugin(const std::string& built_path) {
    auto to = root_ / "plugins" / std::filesystem::path(built_path).filename();
    std::filesystem::copy_file(built_path, to, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::permissions(to, std::filesystem::perms(0755));
  }
  void add_manifest(const std::string& name, const std::string& text) {
    std::ofstream(root_ / "manifests" / name) << text;
  }
  void remove_manifest(const std::string& name) { std::filesystem::remove(root_ / "manifests" / name); }

  // Host options on this directory; `nats_url` empty = the in-process bus.
  host::HostOptions options(const std::string& nats_url = {}) const {
    host::HostOptions o;
    o.plugins_dir = (root_ / "plugins").string();
    o.manifests_dir = (root_ / "manifests").string();
    o.state_dir = (root_ / "state").string();
    o.connection.nats_url = nats_url;
    o.connection.agent_id = "test-host";
    o.self_exe = std::string(OAIO_BINARY_DIR) + "/bin/oaio";
    o.drain_deadline = std::chrono::seconds(3);
    o.logger = std::make_shared<host::HostLogger>(host::LogFormat::kText, LogLevel::kWarn);
    return o;
  }
  std::string path() const { return root_.string(); }
  std::filesystem::path root() const { return root_; }

 private:
  std::filesystem::path root_;
};

// Starts a host and waits up to `timeout` until every bridge is running. Returns null
// (after a test failure naming the reason) when it does not get there.
inline std::unique_ptr<host::HostApp> start_host(host::HostOptions options,
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto app = host::HostApp::start(std::move(options));
  EXPECT_TRUE(app.ok()) << app.status().to_string();
  if (!app.ok()) return nullptr;
  bool running = app.value()->supervisor().wait_for(
      [](const std::vector<host::BridgeStatus>& all) {
        for (const auto& s : all)
          if (s.state != host::BridgeState::kRunning) return false;
        return !all.empty();
      },
      timeout);
  EXPECT_TRUE(running) << "bridges did not all reach running";
  return std::move(app).value();
}

// Reads a stream to its end; a transport error fails the test and ends the list.
inline std::vector<Envelope> collect(ClientStream& s) {
  std::vector<Envelope> frames;
  while (true) {
    auto n = s.next();
    EXPECT_TRUE(n.ok()) << n.status().to_string();
    if (!n.ok() || !n.value()) return frames;
    frames.push_back(*n.value());
  }
}

}  // namespace oaio::test
