// A connection to one MCP server that moves JSON-RPC frames (one JSON text each) both
// ways. Implementations: StdioTransport (a child process) and HttpTransport
// (Streamable HTTP). The Client owns one and is the only caller.
//
// Callbacks run on the transport's own threads (a reader thread for stdio, the POST
// workers for HTTP); they must not block on the transport (e.g. by waiting for a
// response). on_closed is called at most once, when the connection is gone for good
// (child exited, server unreachable); close() itself does not call it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "result_mapping.h"

namespace oaio::mcp {

struct TransportCallbacks {
  std::function<void(std::string_view frame)> on_frame;
  // A frame larger than the limit was dropped; head/tail are its first/last bytes.
  std::function<void(std::string_view head, std::string_view tail, std::size_t length)> on_oversized;
  // A request could not be delivered or its HTTP exchange failed (HTTP only).
  std::function<void(int64_t request_id, const CallError& error)> on_request_failed;
  // True while request `id` still waits for its response (HTTP: resume decisions).
  std::function<bool(int64_t request_id)> is_pending;
  std::function<void(const CallError& why)> on_closed;
  std::function<void(int32_t level, std::string_view line)> log;  // OAIO_LOG_* levels
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Connects (starts the child). Callbacks may fire from then on.
  virtual std::optional<CallError> open(TransportCallbacks callbacks) = 0;
  // Sends one frame. `request_id` is set for requests (so an HTTP failure can be tied
  // back to it). Returns an error when the frame was certainly not sent.
  virtual std::optional<CallError> send(const std::string& frame, std::optional<int64_t> request_id,
                                        std::string_view method) = 0;
  // After initialize: the negotiated version (HTTP sends it as MCP-Protocol-Version).
  virtual void set_protocol_version(const std::string& version) { (void)version; }
  // After notifications/initialized was sent (HTTP opens its GET stream for
  // server-initiated messages here).
  virtual void on_initialized() {}
  // Closes the connection and joins the transport's threads; no callbacks after it
  // returns. Idempotent. Must not be called from a callback.
  virtual void close() = 0;
  // "stdio" / "streamable_http", for logs.
  virtual std::string_view kind() const = 0;
};

}  // namespace oaio::mcp
