// BusCore: the implementation behind oaio::Bus. It is shared-owned: the user's Bus
// handle, every in-flight call and every transport callback hold it, so a handler
// completing late on its own thread never touches freed memory. The Bus handle's
// destructor shuts the core down (subscriptions stopped, calls failed, executor
// joined); the memory goes when the last reference does.
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "client_calls.h"
#include "executor.h"
#include "oaio/bus.h"
#include "timer.h"
#include "weak_slots.h"

namespace oaio::detail {

class CallImpl;
class LogLimiter;
class OutgoingEnvelope;
class StreamWriterImpl;
class BusCore;

// A Bus that forwards every call to a core. The user's handle owns the core (and shuts
// it down when destroyed); the core's own view, handed to handlers as Call::bus(), does
// not.
class BusForwarder final : public Bus {
 public:
  // Non-owning: `core` must outlive the forwarder.
  explicit BusForwarder(BusCore* core) : core_(core) {}
  // Owning: shuts the core down on destruction.
  explicit BusForwarder(std::shared_ptr<BusCore> core) : core_(core.get()), owner_(std::move(core)) {}
  ~BusForwarder() override;

  void invoke_async(std::string_view target, Envelope request, CallOptions options,
                    std::function<void(Result<Envelope>)> done) override;
  Result<Envelope> invoke_blocking(std::string_view target, Envelope&& request, CallOptions options) override;
  CancelFn stream_invoke_async(std::string_view target, Envelope request, CallOptions options, FrameHandler on_frame,
                               StreamEndHandler on_end) override;
  Result<std::unique_ptr<ClientStream>> stream_invoke(std::string_view target, Envelope request,
                                                      CallOptions options) override;
  Status publish(Envelope&& event) override;
  Status publish(const Envelope& event) override;
  Result<Subscription> subscribe(std::string_view event_type, EventHandler handler, SubscribeOptions options) override;
  Result<Subscription> subscribe_raw(std::string_view subject, EventHandler handler, SubscribeOptions options) override;
  void use(Middleware middleware) override;
  Result<Subscription> handle_invoke(std::string_view target, Handler handler, HandlerOptions options) override;
  Result<Subscription> handle_stream(std::string_view target, Handler handler, HandlerOptions options) override;
  Status drain(std::chrono::milliseconds deadline) override;
  const BusOptions& options() const override;
  BusStats stats() const override;
  Transport& transport() override;

 private:
  BusCore* core_;
  std::shared_ptr<BusCore> owner_;  // null for the core's own view
};

class BusCore final : public std::enable_shared_from_this<BusCore>, private CallRegistry {
 public:
  BusCore(std::shared_ptr<Transport> transport, BusOptions options);
  ~BusCore();

  // Installs the connection listener; called once right after construction.
  void init();
  // Stops everything; idempotent. REQUIRES: not called from a bus executor thread.
  void shutdown();

  // The internal Bus view handed to handlers as Call::bus().
  Bus& view() { return *view_; }

  // The core's entry points take envelopes by rvalue reference: an Envelope is two
  // dozen strings, and each by-value layer would move them all once more.
  void invoke_async(std::string_view target, Envelope&& request, CallOptions options,
                    std::function<void(Result<Envelope>)> done);
  // A blocking Invoke that takes its reply on the calling thread, when the transport
  // offers pull subscriptions (see PullSubscription); nullopt when it cannot, with
  // `request` untouched: the caller then uses invoke_async.
  std::optional<Result<Envelope>> invoke_wait(std::string_view target, Envelope& request, const CallOptions& options);
  CancelFn stream_invoke_async(std::string_view target, Envelope&& request, CallOptions options,
                               FrameHandler on_frame, StreamEndHandler on_end);
  Result<std::unique_ptr<ClientStream>> stream_invoke(std::string_view target, Envelope&& request,
                                                      CallOptions options);
  Status publish(Envelope&& event);
  Status publish(const Envelope& event);
  Result<Subscription> subscribe(std::string_view event_type, EventHandler handler, SubscribeOptions options);
  Result<Subscription> subscribe_raw(std::string_view subject, EventHandler handler, SubscribeOptions options);
  void use(Middleware middleware);
  Result<Subscription> handle(std::string_view target, Handler handler, HandlerOptions options, bool is_stream);
  Status drain(std::chrono::milliseconds deadline);

  const BusOptions& options() const { return options_; }
  BusStats stats() const;
  Transport& transport() { return *transport_; }

 private:
  struct Served;  // one handle_invoke/handle_stream registration

  std::chrono::milliseconds effective_timeout(std::chrono::milliseconds t) const;
  // Fills the outbound request and checks names. Returns the subject to publish to.
  Result<std::string> prepare_outbound(std::string_view target, Envelope& request, const CallOptions& options);
  // A context for a new client call, under a fresh id; register_call() once it exists.
  ClientCallContext call_context();
  void register_call(std::uint64_t id, std::weak_ptr<ClientCall> call);
  void unregister_call(std::uint64_t id) override;
  void fail_all_calls(const Status& status);

  void on_request(const std::shared_ptr<Served>& served, const TransportMessage& msg);
  // Counts a dropped frame (BusStats::frames_dropped) and logs `message()` when
  // `limiter` lets a line through (one per interval, with the drops held back since).
  // Defined and used in bus_core.cc only.
  template <typename Message>
  void drop(LogLimiter& limiter, Message&& message);
  void dispatch(const std::shared_ptr<Served>& served, std::shared_ptr<CallImpl> call);
  // A handler's completion (its Done, or the exception it threw): the reply or the
  // stream's end, cleanups, serving_ and the lane slot. Once per call.
  void complete_served(const std::shared_ptr<CallImpl>& call, std::size_t slot, Result<Envelope>&& result);
  // The call in serving_ slot `slot` is complete: drain may be waiting for it.
  void finish_serving(std::size_t slot);
  void complete_invoke(const std::shared_ptr<CallImpl>& call, Result<Envelope>&& result);
  void reply_error(const Envelope& request, const Status& error, bool is_stream);
  // Sends one reply frame to the caller; may move from `frame`.
  Status publish_reply(const std::string& reply_to, Envelope& frame);
  // Publish's parts (see publish): the call whose context an event inherits (null
  // outside handlers or when propagation is off), and the checks that also give the
  // subject.
  const Call* context_parent() const;
  Status check_event(const Envelope& event, std::string* subject) const;
  // Sends a prepared request to `subject` (moving from it when carried); the call's
  // replies go to `inbox` (given as the NATS reply subject too when [E1] fast-fail is on).
  Status send_request(const std::string& subject, const std::string& inbox, OutgoingEnvelope& out, Envelope& request);
  void start_heartbeats(const std::shared_ptr<CallImpl>& call, std::chrono::milliseconds interval);
  // The writer of one served stream (or of an Invoke caller of a serve_invoke target:
  // `invoke_mode`), publishing its frames to the request's reply_to.
  std::shared_ptr<StreamWriterImpl> make_stream_writer(const Envelope& request, bool invoke_mode);
  Result<Subscription> subscribe_events(std::string subject, EventHandler handler, SubscribeOptions options);
  std::shared_ptr<Logger> logger() const { return logger_; }
  void log(LogLevel level, const std::string& message) const;

  const std::shared_ptr<Transport> transport_;
  // The transport's fixed capabilities, read once: capabilities() may take locks.
  const bool in_process_;
  const bool carries_envelopes_;
  const BusOptions options_;
  const std::shared_ptr<Logger> logger_;
  std::unique_ptr<Bus> view_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TimerService> timers_;
  int connection_listener_ = -1;
  // Call::post_after of every inbound call; set by init().
  std::shared_ptr<const std::function<void(std::chrono::milliseconds, std::function<void()>)>> scheduler_;

  std::mutex middleware_mu_;
  std::vector<Middleware> middleware_;  // guarded by middleware_mu_

  std::mutex calls_mu_;
  std::atomic<std::uint64_t> next_call_id_{1};
  std::unordered_map<std::uint64_t, std::weak_ptr<ClientCall>> calls_;       // guarded by calls_mu_

  std::mutex served_mu_;
  WeakSlots<CallImpl> serving_;                                         // in-flight inbound calls; guarded
  std::vector<std::weak_ptr<Served>> registrations_;                    // guarded by served_mu_
  std::condition_variable serving_cv_;

  std::atomic<bool> draining_{false};
  std::atomic<bool> shut_down_{false};

  // Stats.
  std::atomic<std::uint64_t> requests_handled_{0}, replies_sent_{0}, frames_dropped_{0}, requests_rejected_{0},
      calls_made_{0}, events_published_{0}, events_received_{0};
};

}  // namespace oaio::detail
