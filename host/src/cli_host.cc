// The host verbs: run, validate, plugins.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "host_api.h"

namespace oaio::host {
namespace {

std::string flows_text(uint32_t flows) {
  std::string out;
  auto add = [&](uint32_t bit, const char* name) {
    if (flows & bit) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(OAIO_FLOW_INVOKE, "invoke");
  add(OAIO_FLOW_STREAM, "stream");
  add(OAIO_FLOW_PUBLISH, "publish");
  add(OAIO_FLOW_SUBSCRIBE, "subscribe");
  return out.empty() ? "-" : out;
}

std::string features_text(uint32_t features) {
  std::string out;
  auto add = [&](uint32_t bit, const char* name) {
    if (features & bit) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(OAIO_FEATURE_CANCEL, "cancel");
  add(OAIO_FEATURE_PROGRESS, "progress");
  add(OAIO_FEATURE_DYNAMIC_TARGETS, "dynamic-targets");
  add(OAIO_FEATURE_NONBLOCKING_CALL, "nonblocking-call");
  return out.empty() ? "-" : out;
}

}  // namespace

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_shutdown_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

int cmd_run(HostOptions options) {
  // Threads started from here on inherit the mask, so only sigwait sees the signals.
  block_shutdown_signals();
  auto logger = options.logger;
  bool child = options.child;
  auto app = HostApp::start(std::move(options));
  if (!app.ok()) {
    logger->write(LogLevel::kError, {}, app.status().message());
    return kExitInvalidSetup;
  }
  auto& host = *app.value();
  if (host.validation().valid.empty()) {
    logger->write(LogLevel::kError, {}, "no valid bridge to run");
    return kExitInvalidSetup;
  }
  // Report readiness (and fail fast on a fatal startup failure) from a watcher thread.
  std::thread watcher([&host, child, logger] {
    bool ready = host.supervisor().wait_for(
        [&](const std::vector<BridgeStatus>& all) {
          if (host.supervisor().fatal()) return true;
          for (const auto& s : all)
            if (s.state != BridgeState::kRunning && s.state != BridgeState::kFailed) return false;
          return true;
        },
        std::chrono::hours(24 * 365));
    if (host.supervisor().fatal()) {
      logger->write(LogLevel::kError, {}, "a bridge with on_startup_failure: fail could not start; exiting");
      ::kill(::getpid(), SIGTERM);
      return;
    }
    if (ready) {
      logger->write(LogLevel::kInfo, {}, host.supervisor().all_running() ? "ready: all bridges running"
                                                                         : "ready: some bridges failed (see above)");
      if (child) {
        std::fputs("ready\n", stdout);
        std::fflush(stdout);
      }
    }
  });
  int sig = wait_for_shutdown_signal();
  logger->write(LogLevel::kInfo, {}, std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  bool fatal = host.supervisor().fatal();
  host.shutdown();
  // The watcher ends when the supervisor's bridges reach a final state during shutdown.
  watcher.detach();
  return fatal ? kExitInvalidSetup : kExitOk;
}

int cmd_validate(HostOptions options) {
  PluginLoader loader(host_api_table());
  ValidationReport report = validate_setup(loader, options);
  for (const auto& p : loader.plugins()) std::cout << "plugin ok: " << p->name() << " " << p->version() << "\n";
  for (const auto& [m, p] : report.valid) {
    std::cout << "bridge ok: " << m.name << " (plugin " << p->name() << ", " << m.file << ")\n";
  }
  for (const auto& e : report.plugin_errors) std::cerr << "plugin error: " << e << "\n";
  for (const auto& e : report.manifest_errors) std::cerr << "manifest error: " << e << "\n";
  for (const auto& w : report.manifest_warnings) std::cerr << "manifest warning: " << w << "\n";
  if (!report.ok()) return kExitInvalidSetup;
  std::cout << "valid: " << loader.plugins().size() << " plugin(s), " << report.valid.size() << " bridge(s)\n";
  return kExitOk;
}

int cmd_plugins(const std::string& plugins_dir, bool json) {
  PluginLoader loader(host_api_table());
  LoadReport report = loader.load_directory(plugins_dir);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : report.loaded) {
    nlohmann::json schema = nlohmann::json::parse(p->config_schema(), nullptr, false);
    nlohmann::json j{{"name", p->name()},
                     {"version", p->version()},
                     {"abi", std::to_string(p->api.abi_major) + "." + std::to_string(p->api.abi_minor)},
                     {"flows", flows_text(p->api.flows)},
                     {"features", features_text(p->api.features)},
                     {"path", p->path},
                     {"sha256", p->sha256},
                     {"config_schema", schema.is_discarded() ? nlohmann::json(p->config_schema()) : schema}};
    if (p->api.description.len) j["description"] = std::string(p->api.description.data, p->api.description.len);
    out.push_back(j);
  }
  if (json) {
    std::cout << nlohmann::json{{"plugins", out}, {"refused", report.refused}}.dump(2) << "\n";
  } else {
    for (const auto& j : out) {
      std::cout << j["name"].get<std::string>() << " " << j["version"].get<std::string>() << "  abi "
                << j["abi"].get<std::string>() << "  flows " << j["flows"].get<std::string>() << "  features "
                << j["features"].get<std::string>() << "\n    " << j["path"].get<std::string>() << "\n    config schema: "
                << j["config_schema"].dump() << "\n";
    }
    for (const auto& r : report.refused) std::cerr << "refused: " << r << "\n";
  }
  return report.refused.empty() ? kExitOk : kExitInvalidSetup;
}

}  // namespace oaio::host
