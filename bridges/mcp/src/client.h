// Client: one MCP session over a Transport. Runs the initialize handshake (offering
// kLatestProtocolVersion and accepting any version in kSupportedProtocolVersions),
// lists tools (following nextCursor), and multiplexes concurrent tools/call requests by
// JSON-RPC id. Progress notifications are routed by progressToken (the request id).
// Server requests: ping is answered {}; anything else gets -32601 (we declare no
// client capabilities). notifications/tools/list_changed calls Handlers::on_tools_changed.
//
// Deadlines: every request has one; a timer thread fails an expired request with
// AGENT_TIMEOUT and sends notifications/cancelled for it. When the transport closes,
// every pending request fails at once with the transport's reason.
//
// Ownership and THREAD: the Client owns the transport. Callbacks (call handlers,
// Handlers) run on transport or timer threads, outside the Client's lock, and must not
// block on this Client (no connect()/list_tools() from them). connect() and
// list_tools() block the calling thread until answered. Everything else is
// thread-safe. Each call's on_done runs exactly once unless the call was cancel()ed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "jsonrpc.h"
#include "result_mapping.h"
#include "transport.h"

namespace oaio::mcp {

inline constexpr char kLatestProtocolVersion[] = "2025-11-25";
inline const std::vector<std::string> kSupportedProtocolVersions = {"2025-11-25", "2025-06-18", "2025-03-26"};

// One tool as listed by the server.
struct ToolInfo {
  std::string name;
  std::string description;  // "description", else "title", else ""
  Json input_schema;        // "inputSchema" (an object) or null
};

class Client {
 public:
  struct Handlers {
    std::function<void()> on_tools_changed;
    std::function<void(const CallError& why)> on_closed;        // the session is gone
    std::function<void(int32_t level, std::string_view line)> log;
  };
  // The outcome of a call: a result object, or an error.
  struct Outcome {
    std::optional<Json> result;
    CallError error;
  };
  using ProgressFn = std::function<void(double progress, double total, const std::string& message)>;
  using DoneFn = std::function<void(Outcome outcome)>;

  Client(std::unique_ptr<Transport> transport, Handlers handlers, std::vector<std::string> secrets = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Opens the transport and runs initialize + notifications/initialized.
  std::optional<CallError> connect(std::chrono::milliseconds timeout);
  // tools/list, all pages (at most 1000 pages, a guard against a cursor loop).
  std::optional<CallError> list_tools(std::chrono::milliseconds timeout, std::vector<ToolInfo>* tools);

  // Sends tools/call. `meta` becomes params._meta (with progressToken = the request id
  // when on_progress is set). Returns the request id, or an error when nothing was sent
  // (on_done is then never called).
  struct CallRequest {
    std::string tool;
    Json arguments = Json::object();
    Json meta = Json::object();
    std::chrono::milliseconds timeout{60000};
    ProgressFn on_progress;  // empty = no progress token
    DoneFn on_done;
  };
  std::variant<int64_t, CallError> call_tool(CallRequest request);
  // Abandons a pending call: sends notifications/cancelled; its on_done is not called.
  // False if it was not pending (already done).
  bool cancel(int64_t request_id, const std::string& reason);

  bool connected() const;
  std::string protocol_version() const;
  Json server_info() const;
  // Closes the transport; pending calls fail with AGENT_UNAVAILABLE "<why>". Idempotent.
  void close(const std::string& why = "MCP client closed");

 private:
  struct Pending {
    std::chrono::steady_clock::time_point deadline;
    std::string method;
    ProgressFn on_progress;
    DoneFn on_done;
  };

  std::variant<int64_t, CallError> request(const std::string& method, Json params, std::chrono::milliseconds timeout,
                                           ProgressFn on_progress, DoneFn on_done, bool progress_token);
  std::optional<Outcome> request_sync(const std::string& method, Json params, std::chrono::milliseconds timeout);
  void on_frame(std::string_view frame);
  void on_message(Message m);
  void on_oversized(std::string_view head, std::string_view tail, std::size_t length);
  void finish(int64_t id, Outcome outcome);
  void fail_all(const CallError& why);
  void timer_loop();
  void log(int32_t level, std::string_view line) const;

  std::unique_ptr<Transport> transport_;
  const Handlers handlers_;
  const std::vector<std::string> secrets_;
  mutable std::mutex mu_;
  std::condition_variable cv_;          // wakes the timer thread
  std::map<int64_t, Pending> pending_;  // guarded by mu_
  // guarded by mu_: when the sleeping timer thread wakes next. A request due later
  // leaves it asleep (a wake-up per call would be a futex wake and a context switch
  // on the caller's path); max() = not sleeping yet, it rescans before it does.
  std::chrono::steady_clock::time_point timer_wake_ = std::chrono::steady_clock::time_point::max();
  int64_t next_id_ = 1;                 // guarded by mu_
  bool open_ = false;                   // guarded by mu_: transport open, not closed/lost
  bool initialized_ = false;            // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  std::string protocol_version_;        // guarded by mu_
  std::string closed_reason_;           // guarded by mu_; why the connection ended
  Json server_info_;                    // guarded by mu_
  std::thread timer_;
};

}  // namespace oaio::mcp
