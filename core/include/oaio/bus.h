// Bus: the ACP/1.0 runtime (WIRE.md §3–11) over a Transport. Invoke (one reply),
// StreamInvoke (many replies), Publish/Subscribe, and the server side that serves
// targets, wire-compatible with the OpenAgentIO Go and Python SDKs v0.3.0.
//
// Threading: handlers run on the bus executor, a fixed pool of worker threads; each
// target has its own concurrency limit and bounded queue, so a slow target never
// starves the others and a flood never spawns threads. Client calls may be made from
// any thread, including from inside handlers (nested calls inherit the handled
// request's session, conversation, tenant and a child traceparent).
//
// Thread-safety: every Bus method is thread-safe. Destroying the Bus stops all
// subscriptions and fails calls still in flight with TRANSPORT_FAILURE.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "oaio/call.h"
#include "oaio/envelope.h"
#include "oaio/log.h"
#include "oaio/result.h"
#include "oaio/transport.h"

namespace oaio {

struct BusOptions {
  std::string prefix = "acp.v1";           // subject prefix P (some clusters use agent.v1)
  std::string tenant;                      // configured tenant T; empty = none
  std::string agent_id = "oaio";           // written as `from` on what this bus sends
  std::chrono::milliseconds default_timeout{30000};  // for calls that give 0
  std::size_t worker_threads = 0;          // executor size; 0 = max(4, 2 x hardware threads)
  std::size_t max_concurrency = 64;        // in-flight calls per target (handler option overrides)
  std::size_t max_queue = 4096;            // waiting calls per target before BACKPRESSURE_DROP
  bool propagate_context = true;           // nested calls inherit session/conversation/trace
  bool fast_fail_no_handler = true;        // [E1] when the transport reports no responders
  std::size_t max_pending = 256;           // client reorder buffer (<= 0 selects the default)
  std::size_t max_gap = 1024;
  std::shared_ptr<Logger> logger;          // null = warnings and errors to stderr
  // How long an executor worker that ran out of work, and a caller blocked in invoke()
  // on an in-process transport, poll before they sleep. A hand-off to a polling thread takes well under a
  // microsecond; waking a sleeping one takes 5-200 us (most on virtual machines). The
  // price is up to this much CPU per idle transition (one worker polls at a time).
  // 0 turns polling off.
  std::chrono::microseconds idle_spin{50};
};

// Options of one client call. Defaults follow the Go SDK.
struct CallOptions {
  // Overall timeout: 0 = BusOptions::default_timeout, negative = none.
  std::chrono::milliseconds timeout{0};
  // Stream only: the longest gap between two seq-carrying frames; 0 = off.
  std::chrono::milliseconds idle_timeout{0};
  // Stream only, [E2]: ask the server to stop when this client abandons the stream.
  bool cancel_on_abandon = true;
  // Stream only, [E3]: ask for heartbeats every N ms (250..60000); 0 = off.
  std::chrono::milliseconds heartbeat{0};
  // The request whose context a nested call inherits; null = current_call().
  const Call* parent = nullptr;
};

// Options of a served target.
struct HandlerOptions {
  // Queue group: nullopt = the target name (WIRE.md §3), "" = fan-out (no group).
  std::optional<std::string> queue;
  std::size_t max_concurrency = 0;  // 0 = BusOptions::max_concurrency
  std::size_t max_queue = 0;        // 0 = BusOptions::max_queue
  // Run the handler on the transport's delivery thread (in-process: the caller's
  // thread) instead of handing it to an executor worker, saving a thread hand-off per
  // call. Only for handlers that never block (an echo, a hand-off to the handler's own
  // loop): a blocked delivery thread delays every message behind it. max_concurrency
  // and max_queue still apply: a request that finds every slot taken waits and then
  // runs on the executor like any other.
  bool run_inline = false;
  // handle_stream only: also serve Invoke callers from the same target. Invoke and
  // StreamInvoke requests look the same on the wire, so a stream is sent only to callers
  // that opted in with the request metadata "acp.stream": true (this runtime's stream
  // clients always do); for everyone else the handler's started/delta frames are dropped
  // and its terminal frame goes out as the single Invoke reply. Call::is_stream() tells
  // the handler which kind of caller it has.
  bool serve_invoke = false;
};

struct SubscribeOptions {
  std::string queue;          // empty = every subscriber gets every event
  bool run_inline = false;    // see HandlerOptions::run_inline
};

// A live subscription or served target. Destroying it (or unsubscribe()) stops
// delivery; handler calls already running finish. Movable, not copyable.
class Subscription {
 public:
  Subscription() = default;
  explicit Subscription(std::function<void()> stop) : stop_(std::move(stop)) {}
  Subscription(Subscription&& o) noexcept : stop_(std::move(o.stop_)) { o.stop_ = nullptr; }
  Subscription& operator=(Subscription&& o) noexcept {
    if (this != &o) { unsubscribe(); stop_ = std::move(o.stop_); o.stop_ = nullptr; }
    return *this;
  }
  ~Subscription() { unsubscribe(); }
  void unsubscribe() { if (stop_) { auto f = std::move(stop_); stop_ = nullptr; f(); } }
  bool active() const { return static_cast<bool>(stop_); }

 private:
  std::function<void()> stop_;
};

// Client end of one StreamInvoke. Frames come out in seq order; the stream ends after
// the first in-order frame with is_final (an error frame is yielded like any frame).
// Destroying the stream before its end abandons it ([E2] cancel when enabled).
//
// Thread-safety: next() is for one consumer thread; cancel() may be called from any.
class ClientStream {
 public:
  virtual ~ClientStream() = default;
  // Blocks for the next frame. Returns nullopt after the terminal frame was yielded, or a
  // local error: AGENT_TIMEOUT (overall/idle/liveness), BACKPRESSURE_DROP,
  // CODEC_FAILURE, NO_HANDLER ([E1]), TRANSPORT_FAILURE (connection lost).
  virtual Result<std::optional<Envelope>> next() = 0;
  // Abandons the stream now: sends the [E2] cancel when enabled, unsubscribes the inbox.
  // Idempotent; a later next() returns INVALID_REQUEST "stream cancelled".
  virtual void cancel(std::string_view reason = "cancelled by caller") = 0;
  // The request's event_id (the correlation id of every reply frame).
  virtual const std::string& request_id() const = 0;
};

// Per-frame callback of stream_invoke_async: returning false abandons the stream.
using FrameHandler = std::function<bool(const Envelope& frame)>;
// End callback of stream_invoke_async: OK after the terminal frame, else the local error.
using StreamEndHandler = std::function<void(const Status& status)>;
// Handle to cancel an async stream; idempotent and thread-safe; safe after it ended.
using CancelFn = std::function<void(std::string_view reason)>;

using EventHandler = std::function<void(const Envelope& event)>;

// Counters for operators (exposed by the host's /metrics).
struct BusStats {
  std::uint64_t requests_handled = 0;     // inbound requests dispatched to handlers
  std::uint64_t replies_sent = 0;         // reply frames published (all kinds)
  std::uint64_t frames_dropped = 0;       // inbound frames that failed to decode or were unusable
  std::uint64_t requests_rejected = 0;    // refused for overload (BACKPRESSURE_DROP) or shutdown
  std::uint64_t calls_made = 0;           // invoke + stream_invoke
  std::uint64_t events_published = 0;
  std::uint64_t events_received = 0;
};

class Bus {
 public:
  // Opens a bus on `transport` (shared: several buses may use one connection).
  // Fails with INVALID_REQUEST when the prefix or tenant is not a valid subject name.
  static Result<std::unique_ptr<Bus>> open(std::shared_ptr<Transport> transport, BusOptions options = {});
  virtual ~Bus() = default;

  // ---- Client ----
  // Invoke (WIRE.md §4): sends `request` (a bare payload envelope is fine: empty fields
  // are filled in) to `target` and completes `done` with the first reply envelope,
  // whatever its type; an agent.response.error reply is a value, see reply_status().
  // Local failures: INVALID_REQUEST (bad target), AGENT_TIMEOUT, NO_HANDLER ([E1]),
  // TRANSPORT_FAILURE. `done` runs on a transport or timer thread; never block in it.
  virtual void invoke_async(std::string_view target, Envelope request, CallOptions options,
                            std::function<void(Result<Envelope>)> done) = 0;
  // Blocking form of invoke_async (through invoke_blocking).
  Result<Envelope> invoke(std::string_view target, Envelope request, CallOptions options = {});
  // Blocking invoke of a bare payload (raw JSON text; empty = no payload).
  Result<Envelope> invoke_payload(std::string_view target, std::string payload_json, CallOptions options = {});

  // StreamInvoke (WIRE.md §5). Frames are delivered in seq order on a transport thread.
  // Returns a cancel handle; `on_end` is called exactly once (also after a cancel, with
  // INVALID_REQUEST "stream cancelled").
  virtual CancelFn stream_invoke_async(std::string_view target, Envelope request, CallOptions options,
                                       FrameHandler on_frame, StreamEndHandler on_end) = 0;
  // Pull-style form. Fails only for a bad target or a failed send; later failures come
  // from ClientStream::next().
  virtual Result<std::unique_ptr<ClientStream>> stream_invoke(std::string_view target, Envelope request,
                                                              CallOptions options = {}) = 0;

  // Publish (WIRE.md §6). event_type must be set and a valid subject name. What is
  // left empty (event_id, occurred_at, spec and schema version) is filled in what is
  // sent; inside a handler the event also gets the handled call's context.
  virtual Status publish(Envelope&& event) = 0;
  // The same, leaving `event` as it is, so it can be published again (each time with
  // a fresh event_id and occurred_at if those are empty). Over a transport that sends
  // bytes (NATS) the event is encoded as it is, without a copy.
  virtual Status publish(const Envelope& event) = 0;
  Status publish(std::string_view event_type, std::string payload_json);
  // Subscribe to one event type under the configured tenant. Events of one subscription
  // are handled one at a time, in arrival order.
  virtual Result<Subscription> subscribe(std::string_view event_type, EventHandler handler,
                                         SubscribeOptions options = {}) = 0;
  // Subscribe to a raw subject (wildcards allowed, e.g. "acp.v1.events.agent.>").
  // Frames that fail to decode are dropped and counted.
  virtual Result<Subscription> subscribe_raw(std::string_view subject, EventHandler handler,
                                             SubscribeOptions options = {}) = 0;

  // ---- Server ----
  // Middleware wraps handlers registered after the call; the first added is outermost.
  virtual void use(Middleware middleware) = 0;
  // Serves Invoke requests for `target` (WIRE.md §4).
  virtual Result<Subscription> handle_invoke(std::string_view target, Handler handler,
                                             HandlerOptions options = {}) = 0;
  // Serves StreamInvoke requests for `target` (WIRE.md §5), with [E2]/[E3] support.
  virtual Result<Subscription> handle_stream(std::string_view target, Handler handler,
                                             HandlerOptions options = {}) = 0;

  // ---- Lifecycle ----
  // Graceful drain: stop taking new requests (they are answered AGENT_UNAVAILABLE
  // "draining"), wait up to `deadline` for in-flight handlers, then cancel the rest.
  // Returns AGENT_TIMEOUT when handlers were still running at the deadline.
  virtual Status drain(std::chrono::milliseconds deadline) = 0;

  virtual const BusOptions& options() const = 0;
  virtual BusStats stats() const = 0;
  virtual Transport& transport() = 0;

 protected:
  // What invoke() does. This default waits for invoke_async's callback; the bus from
  // open() takes the reply on the calling thread instead when the transport can (NATS:
  // one thread hand-off less per call). Same results and errors either way. Takes
  // `request` by reference so that it is moved once, into the send, not at every layer.
  virtual Result<Envelope> invoke_blocking(std::string_view target, Envelope&& request, CallOptions options);
};

// The error carried by a reply: OK unless reply.event_type is agent.response.error, in
// which case its ErrorPayload as a Status.
Status reply_status(const Envelope& reply);

}  // namespace oaio
