// HostApp: what `oaio run` is. Loads the plugins and manifests, validates every bridge's
// config against its plugin's schema, runs the bridges under the supervisor, answers
// catalog queries on the bus, serves the HTTP gateway when asked, and shuts down
// gracefully (drain, then stop) on request.
//
// Thread-safety: start/shutdown from one thread; accessors are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bus_connection.h"
#include "catalog.h"
#include "gateway.h"
#include "host_logger.h"
#include "manifest.h"
#include "metrics.h"
#include "plugin_loader.h"
#include "supervisor.h"

namespace oaio::host {

struct HostOptions {
  std::string plugins_dir = "plugins";
  std::string manifests_dir = "manifests";   // every *.yaml/*.yml/*.json in it
  std::string manifest_file;                 // instead of the directory (child hosts)
  std::string only_bridge;                   // run just this bridge (child hosts)
  bool child = false;                        // a subprocess-isolation child: print "ready"
  ConnectionOptions connection;
  std::string http;                          // gateway address; empty = off
  std::string http_token;                    // bearer token for the gateway
  std::string state_dir = ".oaio-state";
  std::string self_exe;                      // for subprocess isolation
  std::vector<std::string> child_args;       // extra arguments for child hosts
  std::chrono::milliseconds drain_deadline{10000};
  std::shared_ptr<HostLogger> logger;
};

// What validation found: per-plugin and per-bridge problems, one line each.
struct ValidationReport {
  std::vector<std::string> plugin_errors;
  std::vector<std::string> manifest_errors;
  std::vector<std::string> manifest_warnings;  // e.g. seed-format keys the seed ignores too
  std::vector<std::pair<BridgeManifest, std::shared_ptr<LoadedPlugin>>> valid;
  bool ok() const { return plugin_errors.empty() && manifest_errors.empty(); }
};

// Loads plugins and manifests and validates them, starting nothing (`oaio validate`).
ValidationReport validate_setup(PluginLoader& loader, const HostOptions& options);

class HostApp {
 public:
  static Result<std::unique_ptr<HostApp>> start(HostOptions options);
  ~HostApp();  // shutdown()

  // Drain in-flight work within the deadline, stop the bridges, close the bus. Idempotent.
  void shutdown();

  Supervisor& supervisor() { return *supervisor_; }
  Catalog& catalog() { return catalog_; }
  MetricsRegistry& metrics() { return metrics_; }
  BusConnection& connection() { return *connection_; }
  // The gateway port, or 0 when the gateway is off.
  std::uint16_t http_port() const { return gateway_ ? gateway_->port() : 0; }
  const ValidationReport& validation() const { return report_; }

 private:
  explicit HostApp(HostOptions options);
  Status init();

  HostOptions options_;
  Catalog catalog_;
  MetricsRegistry metrics_;
  std::unique_ptr<PluginLoader> loader_;
  std::unique_ptr<BusConnection> connection_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<Gateway> gateway_;
  Subscription catalog_responder_;
  ValidationReport report_;
  bool shut_down_ = false;
};

// The event type hosts answer with their catalog (reply_to gets an "oaio.catalog" event).
inline constexpr const char* kCatalogQueryEvent = "oaio.catalog.query";

}  // namespace oaio::host
