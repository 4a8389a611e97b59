// Client-side calls in flight: PendingInvoke (one reply) and StreamCall (ordered
// frames, timeouts, [E2] cancel, [E3] liveness). Both complete exactly once, unsubscribe
// their inbox on every exit path and can be failed from outside (connection loss, bus
// shutdown) through ClientCall::fail.
//
// Thread-safety: all methods are thread-safe; callbacks into user code are made
// without internal locks held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "oaio/bus.h"
#include "reorder_buffer.h"
#include "timer.h"

namespace oaio::detail {

class ClientCall {
 public:
  virtual ~ClientCall() = default;
  virtual void fail(const Status& status) = 0;
};

// Where calls in flight are registered (so a lost connection or a shutdown can fail
// them); the bus core.
class CallRegistry {
 public:
  virtual void unregister_call(std::uint64_t id) = 0;

 protected:
  ~CallRegistry() = default;
};

// What a client call needs from the bus core.
struct ClientCallContext {
  Transport* transport = nullptr;
  TimerService* timers = nullptr;
  CallRegistry* registry = nullptr;  // told when the call finishes, under `id`
  std::uint64_t id = 0;
  std::shared_ptr<void> owner;       // keeps the core (transport, timers, registry) alive
};

class PendingInvoke final : public ClientCall, public std::enable_shared_from_this<PendingInvoke> {
 public:
  PendingInvoke(ClientCallContext ctx, std::string target, std::function<void(Result<Envelope>)> done);

  // Arms the timeout (negative = none) and takes the inbox subscription.
  void start(std::chrono::milliseconds timeout, std::unique_ptr<TransportSubscription> inbox);
  void on_message(const TransportMessage& msg);
  void fail(const Status& status) override { complete(status); }
  std::uint64_t id() const { return ctx_.id; }

 private:
  void complete(Result<Envelope>&& result);

  ClientCallContext ctx_;
  const std::string target_;
  std::mutex mu_;
  bool done_ = false;                                // guarded by mu_
  std::function<void(Result<Envelope>)> callback_;   // guarded by mu_
  std::unique_ptr<TransportSubscription> inbox_;     // guarded by mu_
  std::optional<TimerService::TimerId> timer_;       // guarded by mu_
};

// A blocking Invoke that pulls its reply on the calling thread (see PullSubscription):
// the reader thread wakes the caller directly. Registered like the other calls, so a
// lost connection or a shutdown fails it at once (fail() interrupts the wait).
class WaitingInvoke final : public ClientCall {
 public:
  // `inbox`: the pull subscription of the call's reply inbox, made before the request
  // is published.
  WaitingInvoke(ClientCallContext ctx, std::string target, std::unique_ptr<PullSubscription> inbox);
  ~WaitingInvoke() override;  // unregisters; the inbox unsubscribes
  // The reply, or AGENT_TIMEOUT after `timeout` (negative: none), NO_HANDLER ([E1]), or
  // the status fail() was given. Called once, by the calling thread.
  Result<Envelope> wait(std::chrono::milliseconds timeout);
  void fail(const Status& status) override;
  std::uint64_t id() const { return ctx_.id; }

 private:
  ClientCallContext ctx_;
  const std::string target_;
  std::unique_ptr<PullSubscription> inbox_;
  std::mutex mu_;
  std::optional<Status> failure_;  // guarded by mu_
};

// Everything a stream needs to send an [E2] cancel.
struct CancelInfo {
  bool enabled = false;
  std::string reply_to, request_id, agent_id, target, tenant_id;
};

class StreamCall final : public ClientCall, public std::enable_shared_from_this<StreamCall> {
 public:
  struct Limits {
    std::size_t max_pending = 0, max_gap = 0;
    std::chrono::milliseconds timeout{-1};       // negative = none
    std::chrono::milliseconds idle_timeout{0};   // 0 = off
    std::chrono::milliseconds heartbeat{0};      // 0 = off ([E3] liveness)
  };

  StreamCall(ClientCallContext ctx, std::string target, Limits limits, CancelInfo cancel, FrameHandler on_frame,
             StreamEndHandler on_end);

  void start(std::unique_ptr<TransportSubscription> inbox);
  void on_message(const TransportMessage& msg);
  // Abandons the stream (API cancel): INVALID_REQUEST "stream cancelled" to on_end.
  void cancel(std::string_view reason);
  void fail(const Status& status) override { finish(status, false, {}); }
  std::uint64_t id() const { return ctx_.id; }

 private:
  void deliver();
  // Ends the stream once; sends the [E2] cancel when `send_cancel` and enabled.
  void finish(const Status& status, bool send_cancel, std::string_view reason);
  void call_end();
  void schedule_idle_check(std::chrono::steady_clock::time_point at);
  void schedule_liveness_check(std::chrono::steady_clock::time_point at);
  void send_cancel(std::string_view reason);

  ClientCallContext ctx_;
  const std::string target_;
  const Limits limits_;
  const CancelInfo cancel_;
  FrameHandler on_frame_;
  StreamEndHandler on_end_;

  std::mutex mu_;
  ReorderBuffer reorder_;                              // guarded by mu_
  std::deque<Envelope> ready_;                         // guarded by mu_
  bool ended_ = false;                                 // guarded by mu_
  bool end_called_ = false;                            // guarded by mu_
  bool delivering_ = false;                            // guarded by mu_
  bool end_deferred_ = false;                          // guarded by mu_
  std::thread::id delivering_thread_;                  // guarded by mu_
  Status end_status_;                                  // guarded by mu_
  std::unique_ptr<TransportSubscription> inbox_;       // guarded by mu_
  std::optional<TimerService::TimerId> overall_timer_, idle_timer_, liveness_timer_;  // guarded by mu_
  std::chrono::steady_clock::time_point last_seq_frame_, last_any_frame_;            // guarded by mu_
  bool heartbeat_seen_ = false;                        // guarded by mu_
};

// Pull-style adapter over StreamCall callbacks.
class ClientStreamImpl final : public ClientStream {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Envelope> frames;      // guarded by mu
    std::optional<Status> end;        // guarded by mu
  };

  ClientStreamImpl(std::shared_ptr<Shared> shared, CancelFn cancel, std::string request_id)
      : shared_(std::move(shared)), cancel_(std::move(cancel)), request_id_(std::move(request_id)) {}
  ~ClientStreamImpl() override { cancel("stream handle destroyed"); }

  Result<std::optional<Envelope>> next() override;
  void cancel(std::string_view reason) override { if (cancel_) cancel_(reason); }
  const std::string& request_id() const override { return request_id_; }

 private:
  std::shared_ptr<Shared> shared_;
  CancelFn cancel_;
  std::string request_id_;
  bool finished_ = false;
};

}  // namespace oaio::detail
