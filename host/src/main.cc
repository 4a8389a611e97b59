// oaio: the OpenAgentIO host and CLI. Argument parsing and wiring only; the verbs live
// in cli_host.cc (run, validate, plugins) and cli_client.cc (call, stream, publish,
// listen, catalog).
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli.h"

namespace {

using namespace oaio::host;

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

void add_nats_flags(CLI::App* cmd, ConnectionOptions& c) {
  cmd->add_option("--nats", c.nats_url, "NATS server URL(s), comma-separated (default: $OAIO_NATS_URL)");
  cmd->add_option("--nats-user", c.nats.user, "NATS user");
  cmd->add_option("--nats-password", c.nats.password, "NATS password (prefer $OAIO_NATS_PASSWORD)");
  cmd->add_option("--nats-token", c.nats.token, "NATS token (prefer $OAIO_NATS_TOKEN)");
  cmd->add_option("--nats-creds", c.nats.credentials_file, "NATS credentials file (JWT + NKey seed)");
  cmd->add_option("--nats-nkey-seed", c.nats.nkey_seed, "NATS NKey seed (prefer $OAIO_NATS_NKEY_SEED)");
  cmd->add_option("--nats-ca", c.nats.tls.ca_file, "CA bundle to verify the NATS server (TLS)");
  cmd->add_option("--nats-cert", c.nats.tls.cert_file, "client certificate for NATS mutual TLS");
  cmd->add_option("--nats-key", c.nats.tls.key_file, "client key for NATS mutual TLS");
  cmd->add_flag("--nats-shared-inbox", c.nats.shared_reply_inbox,
                "one wildcard subscription for all reply inboxes: a call costs one PUB instead of "
                "SUB + PUB + UNSUB (see NatsOptions::shared_reply_inbox)");
  cmd->add_option("--tenant-default", c.default_tenant, "the bus tenant of this process");
}

void apply_env(ConnectionOptions& c) {
  if (c.nats_url.empty()) c.nats_url = env_or("OAIO_NATS_URL", "");
  if (c.nats.password.empty()) c.nats.password = env_or("OAIO_NATS_PASSWORD", "");
  if (c.nats.token.empty()) c.nats.token = env_or("OAIO_NATS_TOKEN", "");
  if (c.nats.nkey_seed.empty()) c.nats.nkey_seed = env_or("OAIO_NATS_NKEY_SEED", "");
  if (!c.nats.tls.ca_file.empty() || !c.nats.tls.cert_file.empty()) c.nats.tls.enabled = true;
}

void add_http_client_flags(CLI::App* cmd, ClientOptions& o) {
  cmd->add_option("--http", o.http_url, "talk to a host's HTTP gateway at ADDR instead of NATS (default: $OAIO_HTTP_URL)");
  cmd->add_option("--http-token", o.http_token, "the gateway's bearer token (prefer $OAIO_HTTP_TOKEN)");
}

void add_client_flags(CLI::App* cmd, ClientOptions& o, bool payload) {
  add_nats_flags(cmd, o.connection);
  add_http_client_flags(cmd, o);
  if (payload) cmd->add_option("json", o.json, "payload as JSON (default: none)");
  cmd->add_option("--timeout", o.timeout_s, "seconds to wait (default 30)");
  cmd->add_option("--tenant", o.tenant, "tenant of the request or event");
  cmd->add_option("--session", o.session, "session id");
  cmd->add_option("--conversation", o.conversation, "conversation id");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"oaio: the OpenAgentIO host and bus CLI"};
  app.set_version_flag("--version", std::string("oaio 0.1.0 (plugin ABI ") + std::to_string(OAIO_PLUGIN_ABI_MAJOR) +
                                        "." + std::to_string(OAIO_PLUGIN_ABI_MINOR) + ")");
  app.require_subcommand(1);
  std::string log_format = "text", log_level = "info";
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  HostOptions host;
  host.plugins_dir = env_or("OAIO_PLUGINS_DIR", "plugins");
  host.manifests_dir = env_or("OAIO_MANIFESTS_DIR", "manifests");
  auto* run = app.add_subcommand("run", "load plugins and manifests and run the bridges until signalled");
  run->add_option("--plugins", host.plugins_dir, "plugins directory (default: $OAIO_PLUGINS_DIR or ./plugins)");
  run->add_option("--manifests", host.manifests_dir, "manifests directory (default: $OAIO_MANIFESTS_DIR or ./manifests)");
  run->add_option("--manifest", host.manifest_file, "one manifest file instead of the directory");
  run->add_option("--bridge", host.only_bridge, "run only this bridge");
  run->add_flag("--child", host.child, "internal: run as a subprocess-isolation child")->group("");
  run->add_option("--http", host.http, "serve the HTTP gateway on ADDR (e.g. 127.0.0.1:8080); off by default");
  run->add_option("--http-token", host.http_token, "bearer token required by the gateway (prefer $OAIO_HTTP_TOKEN)");
  run->add_option("--state-dir", host.state_dir, "where bridges keep state (default ./.oaio-state)");
  add_nats_flags(run, host.connection);

  auto* validate = app.add_subcommand("validate", "check plugins and manifests without starting anything");
  validate->add_option("--plugins", host.plugins_dir, "plugins directory");
  validate->add_option("--manifests", host.manifests_dir, "manifests directory");
  validate->add_option("--manifest", host.manifest_file, "one manifest file instead of the directory");

  bool plugins_json = false;
  auto* plugins = app.add_subcommand("plugins", "list plugins: name, version, ABI, flows, config schema");
  plugins->add_option("--plugins", host.plugins_dir, "plugins directory");
  plugins->add_flag("--json", plugins_json, "machine-readable output");

  ClientOptions client;
  auto* call = app.add_subcommand("call", "invoke TARGET and print the reply payload");
  call->add_option("target", client.target_or_event, "target name")->required();
  add_client_flags(call, client, true);
  auto* stream = app.add_subcommand("stream", "stream-invoke TARGET and print each frame as one JSON line");
  stream->add_option("target", client.target_or_event, "target name")->required();
  add_client_flags(stream, client, true);
  auto* publish = app.add_subcommand("publish", "publish an event");
  publish->add_option("event_type", client.target_or_event, "event type")->required();
  add_client_flags(publish, client, true);
  auto* listen = app.add_subcommand("listen", "print events of a type as JSON lines");
  listen->add_option("event_type", client.target_or_event, "event type")->required();
  listen->add_option("--count", client.count, "stop after N events");
  add_client_flags(listen, client, false);
  auto* catalog = app.add_subcommand("catalog", "list the targets served on the bus");
  catalog->add_option("--wait", client.wait_s, "seconds to collect answers (default 0.5)");
  catalog->add_flag("--json", client.json_output, "machine-readable output");
  add_nats_flags(catalog, client.connection);
  add_http_client_flags(catalog, client);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  oaio::LogLevel level = oaio::LogLevel::kInfo;
  parse_log_level(log_level, &level);
  auto logger = std::make_shared<HostLogger>(log_format == "json" ? LogFormat::kJson : LogFormat::kText, level);
  host.logger = logger;
  client.connection.logger = logger;
  apply_env(host.connection);
  apply_env(client.connection);
  if (host.http_token.empty()) host.http_token = env_or("OAIO_HTTP_TOKEN", "");
  if (client.http_token.empty()) client.http_token = env_or("OAIO_HTTP_TOKEN", "");
  // The gateway is used only when no NATS URL was given on the command line or in the
  // environment: --nats (or OAIO_NATS_URL) wins over OAIO_HTTP_URL.
  if (client.http_url.empty() && client.connection.nats_url.empty()) client.http_url = env_or("OAIO_HTTP_URL", "");
  std::error_code ec;
  host.self_exe = std::filesystem::canonical("/proc/self/exe", ec).string();

  if (*run) {
    host.connection.agent_id = "oaio-host";
    host.child_args = {"--log-format", log_format, "--log-level", log_level};  // children log like us
    return cmd_run(std::move(host));
  }
  if (*validate) return cmd_validate(std::move(host));
  if (*plugins) return cmd_plugins(host.plugins_dir, plugins_json);
  client.connection.agent_id = "oaio-cli";
  if (*call) return cmd_call(client);
  if (*stream) return cmd_stream(client);
  if (*publish) return cmd_publish(client);
  if (*listen) return cmd_listen(client);
  if (*catalog) return cmd_catalog(client);
  return kExitUsage;
}
