// Gateway: the host's HTTP face (cpp-httplib; the only file that includes it), off
// unless `oaio run --http ADDR` is given. Routes:
//   POST /v1/agents/{target}/invoke   Invoke; 200 + reply payload bytes verbatim (204 if none)
//   POST /v1/agents/{target}/stream   StreamInvoke as Server-Sent Events
//   POST /v1/events/{event_type}      Publish; 202
//   GET  /healthz  /readyz  /metrics  /v1/catalog
// with the exact status codes, header mapping, auth, size limits, SSE framing and
// synthetic error frames of WIRE.md §10.
//
// Thread-safety: start/stop from the control thread; requests are served on the
// server's own thread pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "oaio/bus.h"
#include "oaio/result.h"

namespace oaio::host {

class Catalog;
class MetricsRegistry;

struct GatewayOptions {
  std::string bind_address = "127.0.0.1";  // loopback unless the operator says otherwise
  std::uint16_t port = 0;                  // 0 = pick a free port (tests)
  std::string bearer_token;                // empty = auth off; else "Authorization: Bearer <token>"
                                           // on /metrics and /v1/*; /healthz, /readyz stay open
  std::size_t max_body_bytes = 4 * 1024 * 1024;  // larger bodies get 413
  std::chrono::milliseconds timeout{30000};      // overall, per request
  std::chrono::milliseconds idle_timeout{0};     // SSE: longest gap between frames; 0 = off
  std::chrono::milliseconds sse_retry{3000};     // the `retry:` field; 0 = omit
  std::chrono::milliseconds heartbeat{15000};    // [E3] asked of stream servers; keep-alive comments
  std::size_t threads = 32;                      // HTTP worker threads
};

struct GatewayDeps {
  Bus* bus = nullptr;                    // default-tenant bus; X-Tenant-Id sets the envelope tenant
  Catalog* catalog = nullptr;
  MetricsRegistry* metrics = nullptr;
  std::function<bool()> ready;           // /readyz: true when all bridges run
  std::function<nlohmann::json()> status;  // /readyz body: bridge states
};

class Gateway {
 public:
  // Binds and starts serving. Fails with a clear message when the address is taken.
  static Result<std::unique_ptr<Gateway>> start(GatewayOptions options, GatewayDeps deps);
  virtual ~Gateway() = default;
  virtual std::uint16_t port() const = 0;
  virtual void stop() = 0;
};

// Parses "HOST:PORT", ":PORT" or "PORT" (host defaults to 127.0.0.1).
Result<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& text);

}  // namespace oaio::host
