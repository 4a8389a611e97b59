#include "host_app.h"

#include <filesystem>

#include "host_api.h"

namespace oaio::host {
namespace {

// The plugin a bridge names (ours: by plugin name; seed files: by bridge type).
std::shared_ptr<LoadedPlugin> plugin_for(const PluginLoader& loader, const BridgeManifest& m) {
  if (!m.plugin.empty()) return loader.find(m.plugin);
  return loader.find_by_manifest_type(m.seed_type);
}

}  // namespace

ValidationReport validate_setup(PluginLoader& loader, const HostOptions& options) {
  ValidationReport report;
  std::map<std::string, std::string> pins;
  ManifestSet manifests;
  if (!options.manifest_file.empty()) {
    auto bridges = load_manifest_file(options.manifest_file);
    if (bridges.ok()) {
      manifests.bridges = std::move(bridges).value();
      for (const auto& b : manifests.bridges)
        manifests.warnings.insert(manifests.warnings.end(), b.warnings.begin(), b.warnings.end());
    } else {
      manifests.errors.push_back(bridges.status().message());
    }
  } else {
    manifests = load_manifest_dir(options.manifests_dir);
  }
  report.manifest_errors = manifests.errors;
  report.manifest_warnings = manifests.warnings;
  // sha256 pins come from the manifests that name the plugin.
  for (const auto& b : manifests.bridges) {
    if (b.sha256 && !b.plugin.empty()) pins[b.plugin] = *b.sha256;
  }
  if (loader.plugins().empty()) {
    LoadReport loaded = loader.load_directory(options.plugins_dir, pins);
    report.plugin_errors = loaded.refused;
  }
  for (auto& b : manifests.bridges) {
    if (!options.only_bridge.empty() && b.name != options.only_bridge) continue;
    auto plugin = plugin_for(loader, b);
    if (!plugin) {
      std::string what = b.plugin.empty() ? "bridge type \"" + b.seed_type + "\"" : "plugin \"" + b.plugin + "\"";
      report.manifest_errors.push_back(b.file + ": " + b.pointer + ": no loaded plugin provides " + what +
                                       " (plugins directory: " + options.plugins_dir + ")");
      continue;
    }
    Status valid = validate_bridge_config(b, plugin->config_schema());
    if (!valid.ok()) {
      report.manifest_errors.push_back(valid.message());
      continue;
    }
    report.valid.emplace_back(std::move(b), std::move(plugin));
  }
  if (!options.only_bridge.empty() && report.valid.empty() && report.manifest_errors.empty()) {
    report.manifest_errors.push_back("no bridge named \"" + options.only_bridge + "\"");
  }
  return report;
}

HostApp::HostApp(HostOptions options) : options_(std::move(options)) {}

HostApp::~HostApp() { shutdown(); }

Result<std::unique_ptr<HostApp>> HostApp::start(HostOptions options) {
  auto app = std::unique_ptr<HostApp>(new HostApp(std::move(options)));
  OAIO_RETURN_IF_ERROR(app->init());
  return app;
}

Status HostApp::init() {
  auto& log = *options_.logger;
  options_.connection.logger = options_.logger;
  auto conn = BusConnection::open(options_.connection);
  if (!conn.ok()) return conn.status().with_prefix("bus");
  connection_ = std::move(conn).value();
  log.write(LogLevel::kInfo, {},
            connection_->is_nats() ? "bus: NATS " + connection_->nats_url() : std::string("bus: in-process"));

  loader_ = std::make_unique<PluginLoader>(host_api_table());
  report_ = validate_setup(*loader_, options_);
  for (const auto& e : report_.plugin_errors) log.write(LogLevel::kError, {}, "plugin refused: " + e);
  for (const auto& e : report_.manifest_errors) log.write(LogLevel::kError, {}, "manifest: " + e);
  for (const auto& w : report_.manifest_warnings) log.write(LogLevel::kWarn, {}, "manifest: " + w);
  for (const auto& p : loader_->plugins()) {
    log.write(LogLevel::kInfo, {}, "plugin " + p->name() + " " + p->version() + " from " + p->path);
  }

  SupervisorOptions so;
  BusConnection* c = connection_.get();
  so.bus_for_tenant = [c](const std::string& tenant) -> Bus* {
    auto bus = c->bus_for(tenant);
    return bus.ok() ? bus.value() : nullptr;
  };
  so.catalog = &catalog_;
  so.metrics = &metrics_;
  so.logger = options_.logger;
  so.state_root = options_.state_dir;
  so.self_exe = options_.self_exe;
  so.nats_url = options_.connection.nats_url;
  so.plugins_dir = std::filesystem::absolute(options_.plugins_dir).string();
  so.child_extra_args = options_.child_args;
  so.drain_deadline = options_.drain_deadline;
  supervisor_ = std::make_unique<Supervisor>(so);
  for (auto& [manifest, plugin] : report_.valid) {
    BridgeManifest m = manifest;
    if (options_.child) m.isolation = Isolation::kInProcess;  // we are the isolated process
    supervisor_->add(std::move(m), plugin);
  }

  // Catalog queries: every host answers with the targets it serves.
  Bus& bus = connection_->default_bus();
  auto responder = bus.subscribe(kCatalogQueryEvent, [this, &bus](const Envelope& query) {
    if (query.reply_to.empty()) return;
    Envelope answer = make_envelope("oaio.catalog", catalog_.to_json().dump());
    answer.correlation_id = query.event_id;
    answer.from = bus.options().agent_id;
    auto bytes = encode_envelope(answer);
    if (bytes.ok()) (void)bus.transport().publish(query.reply_to, {}, bytes.value());
  });
  if (responder.ok()) catalog_responder_ = std::move(responder).value();

  if (!options_.http.empty()) {
    auto addr = parse_listen_address(options_.http);
    if (!addr.ok()) return addr.status().with_prefix("--http");
    GatewayOptions go;
    go.bind_address = addr.value().first;
    go.port = addr.value().second;
    go.bearer_token = options_.http_token;
    GatewayDeps deps;
    deps.bus = &bus;
    deps.catalog = &catalog_;
    deps.metrics = &metrics_;
    Supervisor* sup = supervisor_.get();
    deps.ready = [sup] { return sup->all_running(); };
    deps.status = [sup] {
      nlohmann::json bridges = nlohmann::json::array();
      for (const auto& s : sup->status()) {
        nlohmann::json b{{"name", s.name}, {"plugin", s.plugin}, {"state", std::string(bridge_state_name(s.state))},
                         {"restarts", s.restarts}};
        if (!s.last_error.empty()) b["last_error"] = s.last_error;
        bridges.push_back(b);
      }
      return nlohmann::json{{"bridges", bridges}};
    };
    auto gw = Gateway::start(go, deps);
    if (!gw.ok()) return gw.status().with_prefix("gateway");
    gateway_ = std::move(gw).value();
    log.write(LogLevel::kInfo, {}, "gateway listening on http://" + go.bind_address + ":" + std::to_string(gateway_->port()));
  }
  supervisor_->start_all();
  return Status();
}

void HostApp::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (options_.logger) options_.logger->write(LogLevel::kInfo, {}, "shutting down: draining in-flight calls");
  if (gateway_) gateway_->stop();
  catalog_responder_.unsubscribe();
  // Stop taking requests and let in-flight calls finish, then stop the bridges.
  if (connection_) connection_->drain(options_.drain_deadline);
  if (supervisor_) supervisor_->stop_all();
  supervisor_.reset();
  connection_.reset();
}

}  // namespace oaio::host
