#include "client_calls.h"

#include <condition_variable>
#include <string>

#include "envelope_io.h"
#include "oaio/subject.h"

namespace oaio::detail {
namespace {

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

Status no_handler_for(const std::string& target) {
  return Status::no_handler("no handler serves target \"" + target + "\"");
}

Status invoke_timed_out(const std::string& target, std::chrono::milliseconds timeout) {
  return Status::timeout("invoke of \"" + target + "\" timed out after " + ms_text(timeout));
}

// A status message other than [E1]'s 503 is not a reply: the call keeps waiting
// (WIRE.md §11 [E1]).
bool ignored_status(const TransportMessage& msg) { return msg.status != 0 && msg.status != 503; }

// What a message that is not ignored means for an Invoke call: its reply, or why not.
Result<Envelope> invoke_reply(const TransportMessage& msg, const std::string& target) {
  if (msg.status == 503) return no_handler_for(target);
  Result<Envelope> reply = receive_envelope(msg);
  if (!reply.ok()) reply = reply.status().with_prefix("undecodable reply from \"" + target + "\"");
  return reply;
}

}  // namespace

// ---------------------------------------------------------------------------------
// WaitingInvoke

WaitingInvoke::WaitingInvoke(ClientCallContext ctx, std::string target, std::unique_ptr<PullSubscription> inbox)
    : ctx_(std::move(ctx)), target_(std::move(target)), inbox_(std::move(inbox)) {}

WaitingInvoke::~WaitingInvoke() {
  if (ctx_.registry) ctx_.registry->unregister_call(ctx_.id);
}

void WaitingInvoke::fail(const Status& status) {
  {
    std::lock_guard lock(mu_);
    if (!failure_) failure_ = status;
  }
  inbox_->interrupt();
}

Result<Envelope> WaitingInvoke::wait(std::chrono::milliseconds timeout) {
  const bool forever = timeout.count() < 0;
  const auto deadline = std::chrono::steady_clock::now() + (forever ? std::chrono::milliseconds(0) : timeout);
  TransportMessage msg;
  while (true) {
    auto left = forever ? std::chrono::milliseconds(-1)
                        : std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now() +
                                                                                std::chrono::microseconds(999));
    if (!forever && left.count() <= 0) return invoke_timed_out(target_, timeout);
    switch (inbox_->next(left, &msg)) {
      case PullSubscription::Wait::kTimeout:
        break;  // nats.c may wake a little early (millisecond clock): the loop checks the deadline
      case PullSubscription::Wait::kClosed: {
        std::lock_guard lock(mu_);
        return failure_ ? *failure_ : Status::transport("the reply inbox of \"" + target_ + "\" was closed");
      }
      case PullSubscription::Wait::kMessage:
        if (!ignored_status(msg)) return invoke_reply(msg, target_);
        break;
    }
  }
}

// ---------------------------------------------------------------------------------
// PendingInvoke

PendingInvoke::PendingInvoke(ClientCallContext ctx, std::string target, std::function<void(Result<Envelope>)> done)
    : ctx_(std::move(ctx)), target_(std::move(target)), callback_(std::move(done)) {}

void PendingInvoke::start(std::chrono::milliseconds timeout, std::unique_ptr<TransportSubscription> inbox) {
  std::unique_lock lock(mu_);
  if (done_) {
    lock.unlock();
    inbox->unsubscribe();
    return;
  }
  inbox_ = std::move(inbox);
  if (timeout.count() >= 0) {
    std::weak_ptr<PendingInvoke> weak = weak_from_this();
    timer_ = ctx_.timers->schedule_after(timeout, [weak, timeout] {
      if (auto self = weak.lock()) {
        self->complete(invoke_timed_out(self->target_, timeout));
      }
    });
  }
}

void PendingInvoke::on_message(const TransportMessage& msg) {
  if (!ignored_status(msg)) complete(invoke_reply(msg, target_));
}

void PendingInvoke::complete(Result<Envelope>&& result) {
  std::function<void(Result<Envelope>)> callback;
  std::unique_ptr<TransportSubscription> inbox;
  std::optional<TimerService::TimerId> timer;
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    callback = std::move(callback_);
    inbox = std::move(inbox_);
    timer = timer_;
  }
  if (timer) ctx_.timers->cancel(*timer);
  if (inbox) inbox->unsubscribe();
  if (ctx_.registry) ctx_.registry->unregister_call(ctx_.id);
  callback(std::move(result));
}

// ---------------------------------------------------------------------------------
// StreamCall

StreamCall::StreamCall(ClientCallContext ctx, std::string target, Limits limits, CancelInfo cancel,
                       FrameHandler on_frame, StreamEndHandler on_end)
    : ctx_(std::move(ctx)), target_(std::move(target)), limits_(limits), cancel_(std::move(cancel)),
      on_frame_(std::move(on_frame)), on_end_(std::move(on_end)), reorder_(limits.max_pending, limits.max_gap) {
  last_seq_frame_ = last_any_frame_ = std::chrono::steady_clock::now();
}

void StreamCall::start(std::unique_ptr<TransportSubscription> inbox) {
  std::unique_lock lock(mu_);
  if (ended_) {
    lock.unlock();
    inbox->unsubscribe();
    return;
  }
  inbox_ = std::move(inbox);
  std::weak_ptr<StreamCall> weak = weak_from_this();
  if (limits_.timeout.count() >= 0) {
    auto timeout = limits_.timeout;
    overall_timer_ = ctx_.timers->schedule_after(timeout, [weak, timeout, target = target_] {
      if (auto self = weak.lock()) {
        self->finish(Status::timeout("stream from \"" + target + "\" timed out after " + ms_text(timeout)), true,
                     "timeout");
      }
    });
  }
  if (limits_.idle_timeout.count() > 0) {
    auto at = std::chrono::steady_clock::now() + limits_.idle_timeout;
    lock.unlock();
    schedule_idle_check(at);
  }
}

void StreamCall::schedule_idle_check(std::chrono::steady_clock::time_point at) {
  std::weak_ptr<StreamCall> weak = weak_from_this();
  auto id = ctx_.timers->schedule(at, [weak] {
    auto self = weak.lock();
    if (!self) return;
    std::unique_lock lock(self->mu_);
    if (self->ended_) return;
    auto due = self->last_seq_frame_ + self->limits_.idle_timeout;
    if (std::chrono::steady_clock::now() < due) {
      lock.unlock();
      self->schedule_idle_check(due);
      return;
    }
    lock.unlock();
    self->finish(Status::timeout("stream from \"" + self->target_ + "\" idle for more than " +
                                 ms_text(self->limits_.idle_timeout)),
                 true, "idle timeout");
  });
  std::lock_guard lock(mu_);
  idle_timer_ = id;
}

void StreamCall::schedule_liveness_check(std::chrono::steady_clock::time_point at) {
  std::weak_ptr<StreamCall> weak = weak_from_this();
  auto id = ctx_.timers->schedule(at, [weak] {
    auto self = weak.lock();
    if (!self) return;
    std::unique_lock lock(self->mu_);
    if (self->ended_) return;
    auto window = 3 * self->limits_.heartbeat;
    auto due = self->last_any_frame_ + window;
    if (std::chrono::steady_clock::now() < due) {
      lock.unlock();
      self->schedule_liveness_check(due);
      return;
    }
    lock.unlock();
    self->finish(Status::timeout("stream from \"" + self->target_ + "\" lost: no frame or heartbeat for " +
                                 ms_text(window)),
                 true, "liveness lost");
  });
  std::lock_guard lock(mu_);
  liveness_timer_ = id;
}

void StreamCall::on_message(const TransportMessage& msg) {
  if (msg.status != 0) {
    if (msg.status == 503) finish(no_handler_for(target_), false, {});
    return;
  }
  auto decoded = receive_envelope(msg);
  if (!decoded.ok()) {
    finish(decoded.status().with_prefix("undecodable stream frame from \"" + target_ + "\""), true, "codec failure");
    return;
  }
  Envelope& frame = decoded.value();
  auto now = std::chrono::steady_clock::now();
  if (frame.event_type == event_type::kResponseHeartbeat) {
    // [E3]: never yielded, never ordered; starts and feeds the liveness check.
    bool first = false;
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
      last_any_frame_ = now;
      if (!heartbeat_seen_ && limits_.heartbeat.count() > 0) first = heartbeat_seen_ = true;
    }
    if (first) schedule_liveness_check(now + 3 * limits_.heartbeat);
    return;
  }
  std::vector<Envelope> ready;
  Status pushed;
  {
    std::lock_guard lock(mu_);
    if (ended_) return;
    last_any_frame_ = last_seq_frame_ = now;
    pushed = reorder_.push(std::move(frame), &ready);
    if (pushed.ok()) {
      for (auto& f : ready) ready_.push_back(std::move(f));
      if (delivering_) return;  // the delivering thread picks these up
      delivering_ = true;
      delivering_thread_ = std::this_thread::get_id();
    }
  }
  if (!pushed.ok()) {
    finish(pushed, true, "backpressure");
    return;
  }
  deliver();
}

void StreamCall::deliver() {
  while (true) {
    Envelope frame;
    bool deferred_end = false;
    {
      std::lock_guard lock(mu_);
      if (end_deferred_) {
        end_deferred_ = false;
        delivering_ = false;
        deferred_end = true;
      } else if (ended_ || ready_.empty()) {
        delivering_ = false;
        return;
      } else {
        frame = std::move(ready_.front());
        ready_.pop_front();
      }
    }
    if (deferred_end) {
      call_end();  // the stream ended (timeout, fail) while we were inside on_frame
      return;
    }
    bool is_final = frame.is_final;
    bool keep = on_frame_(frame);
    if (is_final) {
      finish(Status(), false, {});
      return;
    }
    if (!keep) {
      finish(Status::invalid("stream cancelled"), true, "cancelled by caller");
      return;
    }
  }
}

void StreamCall::cancel(std::string_view reason) { finish(Status::invalid("stream cancelled"), true, reason); }

void StreamCall::finish(const Status& status, bool send_cancel_frame, std::string_view reason) {
  std::unique_ptr<TransportSubscription> inbox;
  std::optional<TimerService::TimerId> t1, t2, t3;
  bool end_now;
  {
    std::lock_guard lock(mu_);
    if (ended_) return;
    ended_ = true;
    end_status_ = status;
    ready_.clear();
    inbox = std::move(inbox_);
    t1 = overall_timer_;
    t2 = idle_timer_;
    t3 = liveness_timer_;
    // Never call on_end while another thread is inside on_frame: let it end the stream.
    end_now = !delivering_ || delivering_thread_ == std::this_thread::get_id();
    if (!end_now) end_deferred_ = true;
  }
  for (auto t : {t1, t2, t3}) {
    if (t) ctx_.timers->cancel(*t);
  }
  if (send_cancel_frame && !status.ok()) send_cancel(reason);
  if (inbox) inbox->unsubscribe();
  if (end_now) call_end();
}

void StreamCall::call_end() {
  StreamEndHandler on_end;
  Status status;
  {
    std::lock_guard lock(mu_);
    if (end_called_) return;
    end_called_ = true;
    on_end = std::move(on_end_);
    status = end_status_;
    on_frame_ = nullptr;
  }
  if (ctx_.registry) ctx_.registry->unregister_call(ctx_.id);
  if (on_end) on_end(status);
}

void StreamCall::send_cancel(std::string_view reason) {
  if (!cancel_.enabled) return;
  Envelope cancel;
  cancel.event_id = new_event_id();
  cancel.event_type = std::string(event_type::kRequestCancel);
  cancel.occurred_at = now_timestamp();
  cancel.correlation_id = cancel_.request_id;
  cancel.from = cancel_.agent_id;
  cancel.to = cancel_.target;
  cancel.tenant_id = cancel_.tenant_id;
  if (!reason.empty()) cancel.payload = "{\"reason\":" + json_quote(reason) + "}";
  OutgoingEnvelope out(*ctx_.transport);
  if (out.prepare(cancel).ok()) (void)out.send(cancel_subject(cancel_.reply_to), {}, cancel);
}

// ---------------------------------------------------------------------------------
// ClientStreamImpl

Result<std::optional<Envelope>> ClientStreamImpl::next() {
  if (finished_) {
    std::lock_guard lock(shared_->mu);
    if (shared_->end->ok()) return std::optional<Envelope>();
    return *shared_->end;
  }
  std::unique_lock lock(shared_->mu);
  shared_->cv.wait(lock, [&] { return !shared_->frames.empty() || shared_->end.has_value(); });
  if (!shared_->frames.empty()) {
    Envelope f = std::move(shared_->frames.front());
    shared_->frames.pop_front();
    return std::optional<Envelope>(std::move(f));
  }
  finished_ = true;
  if (shared_->end->ok()) return std::optional<Envelope>();
  return *shared_->end;
}

}  // namespace oaio::detail
