// Server side of the bus: the inbound Call a handler serves, the StreamWriter it
// answers a stream with, and the handler and middleware types.
//
// Handlers are asynchronous at heart: a Handler receives the Call and a Done
// callback, and may finish on any thread, at any later time. The sync adapters
// (sync_invoke, sync_stream) cover the common case of code that just returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "oaio/envelope.h"
#include "oaio/result.h"

namespace oaio {

class Bus;

// Writes the reply frames of one stream (WIRE.md §5): seq from 0 without gaps,
// `started` at most once, exactly one terminal frame, and the failed-state rules.
// Every frame is a reply shell (§4) of the request.
//
// Thread-safety: all methods may be called from any thread; frames are numbered in
// the order the calls take the writer's lock.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Sends agent.response.started with payload {"meta":<meta_json>} ({"meta":{}} when
  // empty). Fails with INVALID_REQUEST when already started, after a delta, or closed.
  virtual Status started(std::string_view meta_json = {}) = 0;
  // Sends agent.response.delta with the given payload (raw JSON, e.g. {"delta":"..."}).
  virtual Status delta(std::string_view payload_json) = 0;
  // Sends a handler-built frame; the shell rules fill its empty fields. A terminal
  // event type ends the stream.
  virtual Status send(Envelope frame) = 0;
  // Sends agent.response.final (is_final) with the payload, or none when empty.
  virtual Status final(std::string_view payload_json = {}) = 0;
  // Sends agent.response.error (is_final) with an ErrorPayload made from `error`.
  virtual Status error(const Status& error) = 0;
  // True once a terminal frame was reserved (sent, being sent, or failed).
  virtual bool closed() const = 0;
  // Number of frames published so far (not counting [E3] heartbeats).
  virtual std::uint64_t frames_sent() const = 0;
};

// One inbound request (invoke or stream) as seen by middleware and handlers.
//
// Thread-safety: request()/target()/bus() are immutable after dispatch except through
// mutable_request(), which only middleware running before the handler may use.
// cancelled() and on_cancel() are thread-safe.
class Call {
 public:
  virtual ~Call() = default;
  virtual const Envelope& request() const = 0;
  // For middleware that stamps the request before calling next (e.g. retry attempt).
  virtual Envelope& mutable_request() = 0;
  // The target this handler was registered for.
  virtual const std::string& target() const = 0;
  // True when the caller reads a stream (deltas reach it).
  virtual bool is_stream() const = 0;
  // REQUIRES: the handler was registered with handle_stream. For an Invoke caller of a
  // serve_invoke target, non-terminal frames are accepted and dropped.
  virtual StreamWriter& writer() = 0;
  // The bus that dispatched the call; nested calls made through it inherit context.
  virtual Bus& bus() = 0;
  // True once the caller cancelled ([E2]) or the bus is shutting down past its deadline.
  virtual bool cancelled() const = 0;
  // Runs `fn` once on cancellation (at once if already cancelled). Thread-safe.
  virtual void on_cancel(std::function<void()> fn) = 0;
  // Runs `fn` on a bus executor thread after `delay` (e.g. a retry back-off) without
  // holding any thread meanwhile. Dropped if the bus shuts down first.
  virtual void post_after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

// Completion of a handler, called exactly once, from any thread.
//  - Invoke: the reply. A value whose event_type is empty is a bare result: its payload
//    (and metadata overlay) become the agent.response.final. Otherwise it is the
//    handler's own envelope, completed by the shell rules (WIRE.md §4).
//  - Stream: the outcome; the value is ignored. Without a terminal frame, OK sends a
//    final with no payload and an error sends an error frame (WIRE.md §5.3).
//  A non-OK status keeps its code (timeouts become AGENT_TIMEOUT); see WIRE.md §7.
using Done = std::function<void(Result<Envelope>)>;
using Handler = std::function<void(const std::shared_ptr<Call>& call, Done done)>;
// Wraps a handler. The first middleware added to a bus is the outermost.
using Middleware = std::function<Handler(Handler next)>;

// Sync adapters. They run on a bus executor thread; blocking there only holds the
// target's own concurrency slot. An exception escaping fn becomes AGENT_UNAVAILABLE.
using InvokeFn = std::function<Result<Envelope>(Call& call)>;
using StreamFn = std::function<Status(Call& call, StreamWriter& writer)>;
Handler sync_invoke(InvokeFn fn);
Handler sync_stream(StreamFn fn);

// A bare result for an invoke reply: an Envelope with only `payload` set.
inline Envelope result_payload(std::string payload_json) {
  Envelope e;
  e.spec_version.clear();
  e.schema_version = 0;
  e.payload = std::move(payload_json);
  return e;
}

// The Call being handled on this thread, or nullptr. Set while a handler (and its
// middleware) runs synchronously on a bus thread; used for context propagation.
Call* current_call() noexcept;

// Makes `call` the current call of this thread for the scope (for async handlers that
// continue on their own threads and want nested calls to inherit its context).
class CallScope {
 public:
  explicit CallScope(Call* call) noexcept;
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  Call* previous_;
};

}  // namespace oaio
