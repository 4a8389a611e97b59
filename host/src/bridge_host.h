// BridgeHost: the host side of one bridge instance, and what a plugin sees as its
// oaio_host*. It runs the plugin's lifecycle hooks behind catch-alls, turns the
// plugin's targets into bus handlers, its subscriptions and outgoing calls into bus
// calls, and tracks everything it opened so stop() can close it all.
//
// Ownership: owned by the supervisor (one per bridge run). Must outlive every call the
// plugin can still complete: stop() fails the open calls and the plugin's stop hook
// promises no host calls afterwards.
// Thread-safety: lifecycle methods (create/start/drain/stop/destroy) run on the
// supervisor's control thread; the ABI entry points are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "catalog.h"
#include "host_logger.h"
#include "metrics.h"
#include "oaio/bus.h"
#include "oaio/plugin.h"
#include "plugin_loader.h"

namespace oaio::host {

struct PluginCall;
struct TargetMetrics;

struct BridgeHostOptions {
  std::string bridge_name;
  std::string target_prefix;      // "<prefix>." is prepended to every target; empty = none
  std::string state_dir;          // created on demand
  Bus* bus = nullptr;             // not owned; the bus of the bridge's tenant
  Catalog* catalog = nullptr;     // not owned
  std::shared_ptr<HostLogger> logger;
  MetricsRegistry* metrics = nullptr;  // not owned; may be null
  std::size_t max_concurrency = 4096;  // per target: plugins complete asynchronously
  // The plugin reported a state (OAIO_STATE_*), with detail and a retry-after hint.
  std::function<void(int32_t state, const std::string& detail, std::uint32_t retry_after_ms)> on_state;
};

class BridgeHost {
 public:
  BridgeHost(BridgeHostOptions options, std::shared_ptr<LoadedPlugin> plugin);
  ~BridgeHost();  // stop() and destroy() if still needed
  BridgeHost(const BridgeHost&) = delete;
  BridgeHost& operator=(const BridgeHost&) = delete;

  oaio_host* handle() { return reinterpret_cast<oaio_host*>(this); }
  static BridgeHost* from(oaio_host* host) { return reinterpret_cast<BridgeHost*>(host); }

  // Lifecycle (control thread). Each returns the plugin's error as a Status.
  Status create(const std::string& config_json);
  Status start();
  Status drain(std::chrono::milliseconds deadline);
  void stop();
  void destroy();

  const std::string& name() const { return options_.bridge_name; }
  const LoadedPlugin& plugin() const { return *plugin_; }
  std::size_t open_calls() const;
  // Waits until open_calls() is 0 (true) or `until` has passed (false).
  bool wait_for_open_calls(std::chrono::steady_clock::time_point until) const;

  // ---- ABI entry points (called through host_api.cc trampolines) ----
  void log(int32_t level, std::string_view message);
  bool log_enabled(int32_t level) const;
  oaio_status register_target(const oaio_target_desc& desc);
  oaio_status unregister_target(std::string_view name);
  oaio_status publish(std::string_view event_type, std::string_view payload, const oaio_call_opts* opts);
  oaio_status subscribe(std::string_view event_type, std::string_view queue, oaio_event_fn fn, void* user_data,
                        std::uint64_t* id);
  oaio_status unsubscribe(std::uint64_t id);
  oaio_status call_out(bool stream, std::string_view target, std::string_view payload, const oaio_call_opts* opts,
                       oaio_frame_fn fn, void* user_data, std::uint64_t* call_id);
  oaio_status cancel_call(std::uint64_t call_id);
  void report_state(int32_t state, std::string_view detail, std::uint32_t retry_after_ms);
  oaio_status metric_define(std::string_view name, int32_t kind, std::string_view help, std::uint32_t* metric);
  void metric_record(std::uint32_t metric, double value, std::string_view labels);
  std::string_view state_dir();
  // host_api.dead_letter: `envelope_json` to the bus's dead-letter subject.
  oaio_status dead_letter(std::string_view envelope_json, std::string_view last_error);

  // Retires an inbound call taken from the call table (completed, failed, refused,
  // stopped): records its outcome (`error` null = OK) and hands back the bus Done,
  // which the caller must call once with the result. The result is built in that call
  // expression rather than passed through here: an Envelope move is ~600 instructions.
  // Called once per call, by its taker; `this` may be gone once the Done runs.
  [[nodiscard]] Done retire_call(PluginCall& call, const Status* error);
  // The plugin's cancel hook for a live inbound call (at most once per call).
  void cancel_inbound(PluginCall& call, oaio_call* handle);

 private:
  struct Subscriber;
  struct Outgoing;

  Handler make_handler(const std::string& target, void* user_data, bool streaming_target);
  void run_call(const std::shared_ptr<Call>& call, Done done, void* user_data, bool streaming_target,
                const TargetMetrics& metrics);

  const BridgeHostOptions options_;
  const std::shared_ptr<LoadedPlugin> plugin_;
  void* instance_ = nullptr;  // written by create() before instance_ready_ is set
  // Set (release) once the plugin's create hook returned. Its targets are live on the
  // bus during create, so a call can arrive first: run_call refuses it until then
  // rather than hand the plugin an instance it has not returned yet, and the acquire
  // load orders the plugin's create-time writes before its call and cancel hooks.
  std::atomic<bool> instance_ready_{false};
  bool created_ = false, stopped_ = false, destroyed_ = false;  // control thread only
  std::atomic<bool> accepting_{true};
  // Inbound calls handed to the plugin and not yet finished. The calls themselves are
  // found in the call table (by bridge) when stop() fails the leftovers.
  std::atomic<std::size_t> open_calls_{0};

  mutable std::mutex mu_;
  std::map<std::string, Subscription> targets_;                        // guarded by mu_
  std::map<std::uint64_t, std::shared_ptr<Subscriber>> subscribers_;  // guarded by mu_
  std::map<std::uint64_t, std::shared_ptr<Outgoing>> outgoing_;       // guarded by mu_
  std::map<std::uint32_t, std::pair<std::string, int32_t>> metrics_;  // guarded by mu_
  std::uint64_t next_id_ = 1;                                          // guarded by mu_
  std::string state_dir_;                                              // guarded by mu_
};

// The ACP Status for a plugin's oaio_error (WIRE.md §7 codes; local codes mapped).
Status status_from_plugin_error(oaio_status code, const oaio_error* error);
// The other way, for errors the host hands to a plugin.
oaio_status plugin_code_for(ErrorCode code);

}  // namespace oaio::host
