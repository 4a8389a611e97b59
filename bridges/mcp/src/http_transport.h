// HttpTransport: MCP Streamable HTTP over libcurl. Every frame is one POST to the
// endpoint with "Accept: application/json, text/event-stream"; a request's answer comes
// back as a JSON body or as an SSE stream (which may carry notifications and server
// requests before the response); notifications and responses we send get 202.
// Kept across POSTs: the Mcp-Session-Id the server assigned at initialize, and the
// MCP-Protocol-Version header once negotiated. Extra headers and a bearer token are
// added to every request (never logged).
//
// Session expiry: a 404 on a request that carried a session id means the server forgot
// the session. The transport re-runs the initialize exchange it saw (same frame, new
// session), sends notifications/initialized, and retries the request once.
//
// Resumption (SEP-1699): when a request's SSE stream ends before its response and the
// stream carried an event id, the transport waits the stream's "retry" time (1 s if it
// gave none) and re-attaches with GET + Last-Event-ID, up to 3 times, before failing
// the request.
//
// Server-initiated messages (e.g. tools/list_changed sent outside a request) come on a
// GET SSE stream opened after initialize and re-opened when it ends; a server that
// answers the GET with 405 has none. A connection failure of that stream also means
// the server is gone (on_closed), so an idle bridge notices an outage too.
//
// Failures: an HTTP error status fails only that request (on_request_failed, code from
// code_for_http_status); a connection-level failure (refused, reset, DNS) means the
// server is gone: on_closed, once.
//
// THREAD: send() from any thread; each POST runs on its own worker thread, so slow
// tool calls do not block each other. close() aborts transfers and joins the workers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "transport.h"

namespace oaio::mcp {

struct HttpOptions {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string token;  // bearer token; empty = none
  long connect_timeout_ms = 5000;
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

class HttpTransport : public Transport {
 public:
  explicit HttpTransport(HttpOptions options);
  ~HttpTransport() override;

  std::optional<CallError> open(TransportCallbacks callbacks) override;
  std::optional<CallError> send(const std::string& frame, std::optional<int64_t> request_id,
                                std::string_view method) override;
  void set_protocol_version(const std::string& version) override;
  void on_initialized() override;
  void close() override;
  std::string_view kind() const override { return "streamable_http"; }

  std::string session_id() const;

 private:
  struct Exchange;  // the outcome of one POST
  struct Worker {
    std::thread thread;
    bool done = false;
  };

  // One POST (or, with `get`, the GET stream); frames from the body go to on_frame
  // unless `deliver` is false.
  Exchange post(const std::string& body, bool deliver, bool get = false, const std::string& last_event_id = "",
               std::optional<int64_t> wait_for = std::nullopt);
  void listen_loop();
  void run(std::string frame, std::optional<int64_t> request_id, std::string method);
  bool reinitialize(const std::string& expired_session);
  void lost(const CallError& why);
  void reap_workers(bool all);
  void delete_session();

  const HttpOptions options_;
  TransportCallbacks cb_;
  mutable std::mutex mu_;
  std::string session_id_;        // guarded by mu_
  std::string protocol_version_;  // guarded by mu_
  std::string init_frame_;        // guarded by mu_; the initialize request, for re-init
  std::mutex reinit_mu_;          // one re-initialization at a time
  std::list<Worker> workers_;     // guarded by mu_
  std::atomic<bool> closing_{false};
  std::atomic<bool> lost_{false};
  std::atomic<bool> listening_{false};      // the GET worker runs
  std::atomic<uint64_t> session_epoch_{0};  // bumped by re-initialize: the GET stream reopens
};

}  // namespace oaio::mcp
