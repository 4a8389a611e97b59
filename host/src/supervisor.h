// Supervisor: runs the bridges declared by manifests, one state machine each:
//   validated -> starting -> running <-> degraded -> draining -> stopped
//                    \-> (failure) -> back-off -> starting ...      \-> failed
// with full-jitter exponential back-off, a restart budget, the plugin's retry-after
// hint, and the manifest's startup-failure behaviour (fail | retry | ignore).
//
// A bridge with isolation "subprocess" runs in a child `oaio` process that loads the
// same plugin and joins the same NATS; the supervisor restarts the child when it dies,
// so a crashing plugin never takes the host down.
//
// Thread-safety: all public methods are thread-safe. Each bridge has its own control
// thread; no plugin hook ever runs on the caller's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog.h"
#include "host_logger.h"
#include "manifest.h"
#include "metrics.h"
#include "oaio/bus.h"
#include "plugin_loader.h"

namespace oaio::host {

enum class BridgeState { kValidated, kStarting, kRunning, kDegraded, kDraining, kStopped, kFailed };
std::string_view bridge_state_name(BridgeState s);

struct BridgeStatus {
  std::string name;
  std::string plugin;
  BridgeState state = BridgeState::kValidated;
  std::string last_error;
  int restarts = 0;
  bool subprocess = false;
};

struct SupervisorOptions {
  // Returns the bus for a tenant ("" = the host's default tenant). Owned by the caller.
  std::function<Bus*(const std::string& tenant)> bus_for_tenant;
  Catalog* catalog = nullptr;
  MetricsRegistry* metrics = nullptr;
  std::shared_ptr<HostLogger> logger;
  std::string state_root;              // bridge state dirs: <state_root>/<bridge>
  // Subprocess isolation: how to start a child host for one bridge.
  std::string self_exe;                // path of the oaio binary
  std::string nats_url;                // empty: subprocess isolation is refused
  std::string plugins_dir;
  std::vector<std::string> child_extra_args;  // e.g. --log-format
  std::chrono::milliseconds drain_deadline{10000};
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options);
  ~Supervisor();  // stop_all()

  // Adds a validated bridge. It starts when start_all() runs (or at once if it already did).
  void add(BridgeManifest manifest, std::shared_ptr<LoadedPlugin> plugin);
  void start_all();
  // Graceful: drain every bridge within the deadline, then stop them.
  void stop_all();

  std::vector<BridgeStatus> status() const;
  // True when every bridge is running (degraded counts as not ready).
  bool all_running() const;
  // A bridge with on_startup_failure=fail failed to start: the host should exit.
  bool fatal() const { return fatal_.load(); }
  // Blocks until `pred(status())` is true or the timeout passes (for tests and `run`).
  bool wait_for(const std::function<bool(const std::vector<BridgeStatus>&)>& pred, std::chrono::milliseconds timeout) const;

 private:
  class Runner;
  void changed();

  const SupervisorOptions options_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::unique_ptr<Runner>> runners_;  // guarded by mu_
  bool started_ = false;                         // guarded by mu_
  std::uint64_t changes_ = 0;                    // guarded by mu_; bumped by changed()
  std::atomic<bool> fatal_{false};
};

}  // namespace oaio::host
