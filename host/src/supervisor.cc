#include "supervisor.h"

#include "backoff.h"
#include "bridge_host.h"
#include "child_process.h"

namespace oaio::host {

std::string_view bridge_state_name(BridgeState s) {
  switch (s) {
    case BridgeState::kValidated: return "validated";
    case BridgeState::kStarting: return "starting";
    case BridgeState::kRunning: return "running";
    case BridgeState::kDegraded: return "degraded";
    case BridgeState::kDraining: return "draining";
    case BridgeState::kStopped: return "stopped";
    case BridgeState::kFailed: return "failed";
  }
  return "unknown";
}

// One bridge's control thread and state machine.
class Supervisor::Runner {
 public:
  Runner(Supervisor* sup, BridgeManifest manifest, std::shared_ptr<LoadedPlugin> plugin)
      : sup_(sup), manifest_(std::move(manifest)), plugin_(std::move(plugin)) {
    status_.name = manifest_.name;
    status_.plugin = plugin_ ? plugin_->name() : manifest_.plugin;
    status_.subprocess = manifest_.isolation == Isolation::kSubprocess;
  }
  ~Runner() { stop(); }

  void start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stop_requested_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  BridgeStatus status() const {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  struct Outcome {
    bool stopped = false;       // a stop was requested
    bool reached_running = false;
    std::string error;
    std::chrono::milliseconds retry_after{0};
    bool permanent = false;     // retrying cannot help (e.g. bad isolation setting)
  };

  void log(LogLevel level, const std::string& message) {
    if (sup_->options_.logger) sup_->options_.logger->write(level, manifest_.name, message);
  }

  void set_state(BridgeState state, const std::string& error = {}) {
    {
      std::lock_guard lock(mu_);
      if (status_.state == state && error.empty()) return;
      status_.state = state;
      if (!error.empty()) status_.last_error = error;
    }
    log(state == BridgeState::kFailed ? LogLevel::kError : LogLevel::kInfo,
        "state " + std::string(bridge_state_name(state)) + (error.empty() ? "" : ": " + error));
    if (sup_->options_.metrics) {
      for (auto s : {BridgeState::kStarting, BridgeState::kRunning, BridgeState::kDegraded, BridgeState::kDraining,
                     BridgeState::kStopped, BridgeState::kFailed}) {
        sup_->options_.metrics->record("oaio_bridge_state", s == state ? 1 : 0,
                                       {{"bridge", manifest_.name}, {"state", std::string(bridge_state_name(s))}});
      }
    }
    sup_->changed();
  }

  // Waits up to `d`; true if a stop was requested meanwhile.
  bool wait_stop_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return stop_requested_; });
  }

  void run() {
    const RestartPolicy& policy = manifest_.restart;
    Backoff backoff(std::chrono::milliseconds(policy.initial_backoff_ms), std::chrono::milliseconds(policy.max_backoff_ms));
    RestartBudget budget(policy.max_restarts, std::chrono::seconds(policy.window_seconds));
    bool ever_running = false;
    while (true) {
      set_state(BridgeState::kStarting);
      Outcome out = manifest_.isolation == Isolation::kSubprocess ? run_subprocess() : run_inprocess();
      if (out.stopped) {
        set_state(BridgeState::kStopped);
        return;
      }
      ever_running = ever_running || out.reached_running;
      if (out.reached_running) backoff.reset();
      if (!ever_running) {
        switch (manifest_.on_startup_failure) {
          case StartupFailure::kFail:
            sup_->fatal_ = true;  // before the state: watchers of the state read it
            set_state(BridgeState::kFailed, out.error);
            return;
          case StartupFailure::kIgnore:
            set_state(BridgeState::kFailed, out.error + " (on_startup_failure: ignore)");
            return;
          case StartupFailure::kRetry:
            break;
        }
      }
      if (out.permanent || !policy.enabled) {
        set_state(BridgeState::kFailed, out.error);
        return;
      }
      if (!budget.try_consume(std::chrono::steady_clock::now())) {
        set_state(BridgeState::kFailed, out.error + " (restart budget of " + std::to_string(policy.max_restarts) +
                                            " in " + std::to_string(policy.window_seconds) + " s exhausted)");
        return;
      }
      auto delay = backoff.next(out.retry_after);
      {
        std::lock_guard lock(mu_);
        ++status_.restarts;
        status_.last_error = out.error;
      }
      if (sup_->options_.metrics) sup_->options_.metrics->record("oaio_bridge_restarts_total", 1, {{"bridge", manifest_.name}});
      log(LogLevel::kWarn, "restarting in " + std::to_string(delay.count()) + " ms after: " + out.error);
      if (wait_stop_for(delay)) {
        set_state(BridgeState::kStopped);
        return;
      }
    }
  }

  Outcome run_inprocess() {
    Outcome out;
    BridgeHostOptions ho;
    ho.bridge_name = manifest_.name;
    ho.target_prefix = manifest_.target_prefix;
    ho.state_dir = sup_->options_.state_root.empty() ? "" : sup_->options_.state_root + "/" + manifest_.name;
    ho.bus = sup_->options_.bus_for_tenant(manifest_.tenant);
    ho.catalog = sup_->options_.catalog;
    ho.logger = sup_->options_.logger;
    ho.metrics = sup_->options_.metrics;
    ho.on_state = [this](int32_t state, const std::string& detail, std::uint32_t retry_after_ms) {
      {
        std::lock_guard lock(mu_);
        plugin_state_ = state;
        plugin_detail_ = detail;
        plugin_retry_after_ = std::chrono::milliseconds(retry_after_ms);
        plugin_state_changed_ = true;
      }
      cv_.notify_all();
    };
    if (!ho.bus) {
      out.error = "no bus for tenant \"" + manifest_.tenant + "\"";
      out.permanent = true;
      return out;
    }
    auto host = std::make_unique<BridgeHost>(ho, plugin_);
    {
      std::lock_guard lock(mu_);
      plugin_state_ = OAIO_STATE_RUNNING;
      plugin_state_changed_ = false;
    }
    Status s = host->create(manifest_.config.dump());
    if (s.ok()) s = host->start();
    if (!s.ok()) {
      out.error = s.message();
      {
        std::lock_guard lock(mu_);
        out.retry_after = plugin_retry_after_;
      }
      host.reset();  // stop + destroy
      return out;
    }
    out.reached_running = true;
    int32_t shown = -1;
    std::unique_lock lock(mu_);
    while (true) {
      if (stop_requested_) break;
      if (plugin_state_ != shown) {
        shown = plugin_state_;
        if (shown == OAIO_STATE_FAILED) break;
        std::string detail = plugin_detail_;
        lock.unlock();
        set_state(shown == OAIO_STATE_DEGRADED ? BridgeState::kDegraded : BridgeState::kRunning,
                  shown == OAIO_STATE_DEGRADED ? detail : std::string());
        lock.lock();
        continue;
      }
      cv_.wait(lock, [&] { return stop_requested_ || plugin_state_ != shown; });
    }
    bool stopping = stop_requested_;
    out.error = plugin_detail_.empty() ? "plugin reported failure" : plugin_detail_;
    out.retry_after = plugin_retry_after_;
    lock.unlock();
    if (stopping) {
      set_state(BridgeState::kDraining);
      auto deadline = sup_->options_.drain_deadline;
      Status d = host->drain(deadline);
      if (!d.ok()) log(LogLevel::kWarn, d.message());
      if (!host->wait_for_open_calls(std::chrono::steady_clock::now() + deadline)) {
        log(LogLevel::kWarn, std::to_string(host->open_calls()) + " call(s) still open at the drain deadline");
      }
      out.stopped = true;
    }
    host.reset();
    return out;
  }

  Outcome run_subprocess() {
    Outcome out;
    const auto& o = sup_->options_;
    if (o.nats_url.empty()) {
      out.error = "isolation: subprocess needs a NATS bus shared with the child (give --nats or OAIO_NATS_URL)";
      out.permanent = true;
      return out;
    }
    // Global options (log settings) go before the verb.
    std::vector<std::string> argv{o.self_exe};
    for (const auto& a : o.child_extra_args) argv.push_back(a);
    for (const char* a : {"run", "--nats"}) argv.push_back(a);
    for (const auto& a : {o.nats_url, std::string("--plugins"), o.plugins_dir, std::string("--manifest"),
                          manifest_.file, std::string("--bridge"), manifest_.name, std::string("--child")}) {
      argv.push_back(a);
    }
    auto child = ChildProcess::spawn(argv);
    if (!child.ok()) {
      out.error = child.status().message();
      return out;
    }
    auto& proc = *child.value();
    log(LogLevel::kInfo, "started child process " + std::to_string(proc.pid()));
    bool ready = false;
    while (true) {
      if (wait_stop_for(std::chrono::milliseconds(0))) break;
      if (!ready) {
        if (auto line = proc.read_line(std::chrono::milliseconds(50))) {
          if (*line == "ready") {
            ready = out.reached_running = true;
            set_state(BridgeState::kRunning);
          }
          continue;
        }
      }
      if (auto exit = proc.wait_exit(ready ? std::chrono::milliseconds(50) : std::chrono::milliseconds(0))) {
        out.error = "child process " + std::to_string(proc.pid()) + " " + *exit;
        return out;
      }
    }
    set_state(BridgeState::kDraining);
    proc.terminate();
    if (!proc.wait_exit(o.drain_deadline + std::chrono::seconds(2))) {
      log(LogLevel::kWarn, "child did not stop in time; killing it");
      proc.kill();
      proc.wait_exit(std::chrono::seconds(5));
    }
    out.stopped = true;
    return out;
  }

  Supervisor* sup_;
  const BridgeManifest manifest_;
  const std::shared_ptr<LoadedPlugin> plugin_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;                 // guarded by mu_
  int32_t plugin_state_ = OAIO_STATE_RUNNING;   // guarded by mu_
  bool plugin_state_changed_ = false;           // guarded by mu_
  std::string plugin_detail_;                   // guarded by mu_
  std::chrono::milliseconds plugin_retry_after_{0};  // guarded by mu_
  BridgeStatus status_;                         // guarded by mu_
  std::thread thread_;
};

Supervisor::Supervisor(SupervisorOptions options) : options_(std::move(options)) {
  if (options_.metrics) {
    options_.metrics->define("oaio_bridge_state", MetricKind::kGauge, "1 for the state each bridge is in");
    options_.metrics->define("oaio_bridge_restarts_total", MetricKind::kCounter, "Bridge restarts by the supervisor");
  }
}

Supervisor::~Supervisor() { stop_all(); }

void Supervisor::add(BridgeManifest manifest, std::shared_ptr<LoadedPlugin> plugin) {
  auto runner = std::make_unique<Runner>(this, std::move(manifest), std::move(plugin));
  std::lock_guard lock(mu_);
  if (started_) runner->start();
  runners_.push_back(std::move(runner));
}

void Supervisor::start_all() {
  std::lock_guard lock(mu_);
  started_ = true;
  for (auto& r : runners_) r->start();
}

void Supervisor::stop_all() {
  std::vector<Runner*> runners;
  {
    std::lock_guard lock(mu_);
    for (auto& r : runners_) runners.push_back(r.get());
  }
  // Stop in parallel so one slow drain does not add to the others.
  std::vector<std::thread> stoppers;
  for (auto* r : runners) stoppers.emplace_back([r] { r->stop(); });
  for (auto& t : stoppers) t.join();
}

std::vector<BridgeStatus> Supervisor::status() const {
  std::lock_guard lock(mu_);
  std::vector<BridgeStatus> out;
  for (const auto& r : runners_) out.push_back(r->status());
  return out;
}

bool Supervisor::all_running() const {
  for (const auto& s : status())
    if (s.state != BridgeState::kRunning) return false;
  return true;
}

void Supervisor::changed() {
  {
    std::lock_guard lock(mu_);
    ++changes_;
  }
  cv_.notify_all();
}

bool Supervisor::wait_for(const std::function<bool(const std::vector<BridgeStatus>&)>& pred,
                          std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // The change count is read before the predicate looks: a change in between makes
    // the wait below return at once instead of missing its notification.
    std::uint64_t seen;
    {
      std::lock_guard lock(mu_);
      seen = changes_;
    }
    if (pred(status())) return true;
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return changes_ != seen; })) {
      lock.unlock();
      return pred(status());
    }
  }
}

}  // namespace oaio::host
