// The `oaio` verbs. Each returns the process exit code:
//   0 success; 1 an ACP error (printed on stderr as "error: CODE: message");
//   2 usage error; 3 invalid setup (plugins or manifests).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "host_app.h"

namespace oaio::host {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInvalidSetup = 3;

// Prints "error: CODE: message" on stderr and returns kExitError (the client verbs'
// answer to an ACP error, over NATS and through a gateway alike).
int report_error(const Status& s);

// Options shared by the client verbs.
struct ClientOptions {
  ConnectionOptions connection;
  std::string target_or_event;
  std::string json;                 // payload; empty = none
  double timeout_s = 30;
  std::string tenant, session, conversation;
  int count = 0;                    // listen: stop after N events (0 = until interrupted)
  double wait_s = 0.5;              // catalog: how long to collect answers
  bool json_output = false;
  std::string http_url;             // a host's gateway (--http); empty = the bus over NATS
  std::string http_token;           // its bearer token
};

int cmd_run(HostOptions options);
int cmd_validate(HostOptions options);
int cmd_plugins(const std::string& plugins_dir, bool json);
int cmd_call(const ClientOptions& options);
int cmd_stream(const ClientOptions& options);
int cmd_publish(const ClientOptions& options);
int cmd_listen(const ClientOptions& options);
int cmd_catalog(const ClientOptions& options);

// The same verbs through a host's HTTP gateway (cli_http.cc); cmd_* use them when
// options.http_url is set. The catalog variant returns the targets for cmd_catalog to print.
int http_call(const ClientOptions& options);
int http_stream(const ClientOptions& options);
int http_publish(const ClientOptions& options);
Result<nlohmann::json> http_catalog_targets(const ClientOptions& options);

// Blocks SIGINT/SIGTERM in the calling thread (and threads it creates later) and waits
// for one; returns the signal number. Call before starting threads.
void block_shutdown_signals();
int wait_for_shutdown_signal();

}  // namespace oaio::host
