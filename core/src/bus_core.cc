#include "bus_core.h"

#include <algorithm>
#include <exception>
#include <thread>

#include "call_impl.h"
#include "oaio/subject.h"
#include "reply_builder.h"
#include "envelope_io.h"
#include "log_limiter.h"
#include "stream_writer_impl.h"

namespace oaio::detail {

// One served target.
struct BusCore::Served {
  std::string target;
  bool is_stream = false;
  bool serve_invoke = false;  // stream handler that also answers Invoke callers
  bool run_inline = false;
  Handler handler;  // with the middleware chain applied
  std::shared_ptr<Lane> lane;
  std::unique_ptr<TransportSubscription> subscription;
  std::atomic<bool> active{true};
  LogLimiter drops;  // the log lines of dropped requests

  void stop() {
    active = false;
    if (subscription) subscription->unsubscribe();
  }
};

namespace {

std::size_t default_workers() {
  std::size_t hw = std::thread::hardware_concurrency();
  return std::max<std::size_t>(4, 2 * hw);
}

// WIRE.md §7: encoders use only the eight ACP codes.
Status wire_error(const Status& s) {
  if (s.code() == ErrorCode::kUnknown || s.code() == ErrorCode::kOk) {
    return Status::unavailable(s.message().empty() ? std::string("agent error") : s.message());
  }
  return s;
}

Status panic(const char* what) { return Status::unavailable(std::string("handler panic: ") + what); }

}  // namespace

BusCore::BusCore(std::shared_ptr<Transport> transport, BusOptions options)
    : transport_(std::move(transport)),
      in_process_(transport_->capabilities().in_process),
      carries_envelopes_(transport_->capabilities().carries_envelopes),
      options_(std::move(options)),
      logger_(options_.logger ? options_.logger : make_stderr_logger()),
      view_(std::make_unique<BusForwarder>(this)),
      executor_(std::make_unique<Executor>(options_.worker_threads ? options_.worker_threads : default_workers(),
                                           options_.idle_spin)),
      timers_(std::make_unique<TimerService>()) {}

BusCore::~BusCore() { shutdown(); }

void BusCore::init() {
  std::weak_ptr<BusCore> weak = weak_from_this();
  scheduler_ = std::make_shared<const CallImpl::Scheduler>([weak](std::chrono::milliseconds delay,
                                                                    std::function<void()> fn) {
    auto core = weak.lock();
    if (!core) return;
    core->timers_->schedule_after(delay, [weak, fn = std::move(fn)]() mutable {
      if (auto c = weak.lock()) c->executor_->post(std::move(fn));
    });
  });
  connection_listener_ = transport_->add_connection_listener([weak](ConnectionEvent event) {
    auto core = weak.lock();
    if (!core) return;
    if (event == ConnectionEvent::kDisconnected || event == ConnectionEvent::kClosed) {
      // Calls in flight cannot get their replies any more: fail them now, not at timeout.
      core->fail_all_calls(Status::transport("connection to the message server lost"));
    }
  });
}

void BusCore::log(LogLevel level, const std::string& message) const {
  if (logger_->enabled(level)) logger_->log(level, message);
}

void BusCore::shutdown() {
  if (shut_down_.exchange(true)) return;
  draining_ = true;
  if (connection_listener_ >= 0) transport_->remove_connection_listener(connection_listener_);
  std::vector<std::shared_ptr<Served>> registrations;
  std::vector<std::shared_ptr<CallImpl>> serving;
  {
    std::lock_guard lock(served_mu_);
    for (auto& w : registrations_)
      if (auto s = w.lock()) registrations.push_back(std::move(s));
    serving = serving_.live();
  }
  for (auto& s : registrations) s->stop();
  // Timers first: heartbeats and retries stop at once, as they would in a dead process.
  timers_->shutdown();
  fail_all_calls(Status::transport("bus closed"));
  for (auto& c : serving) c->cancel();
  executor_->shutdown();  // handlers still running finish; what they send is refused
}

BusStats BusCore::stats() const {
  BusStats s;
  s.requests_handled = requests_handled_.load();
  s.replies_sent = replies_sent_.load();
  s.frames_dropped = frames_dropped_.load();
  s.requests_rejected = requests_rejected_.load();
  s.calls_made = calls_made_.load();
  s.events_published = events_published_.load();
  s.events_received = events_received_.load();
  return s;
}

// ---------------------------------------------------------------------------------
// Client side

std::chrono::milliseconds BusCore::effective_timeout(std::chrono::milliseconds t) const {
  if (t.count() == 0) return options_.default_timeout;
  return t;  // negative = none
}

Result<std::string> BusCore::prepare_outbound(std::string_view target, Envelope& request, const CallOptions& options) {
  OAIO_RETURN_IF_ERROR(check_subject_name("target", target));
  if (options_.propagate_context) {
    const Call* parent = options.parent ? options.parent : current_call();
    if (parent) inherit_context(request, parent->request());
  }
  prepare_request(request, target, options_.agent_id, options_.tenant);
  if (!request.tenant_id.empty()) OAIO_RETURN_IF_ERROR(check_subject_name("tenant", request.tenant_id));
  return invoke_subject(options_.prefix, request.tenant_id, target);
}

ClientCallContext BusCore::call_context() {
  return ClientCallContext{transport_.get(), timers_.get(), this, next_call_id_.fetch_add(1, std::memory_order_relaxed),
                           shared_from_this()};
}

void BusCore::register_call(std::uint64_t id, std::weak_ptr<ClientCall> call) {
  std::lock_guard lock(calls_mu_);
  calls_.emplace(id, std::move(call));
}

void BusCore::unregister_call(std::uint64_t id) {
  std::lock_guard lock(calls_mu_);
  calls_.erase(id);
}

void BusCore::fail_all_calls(const Status& status) {
  std::vector<std::shared_ptr<ClientCall>> calls;
  {
    std::lock_guard lock(calls_mu_);
    for (auto& [_, w] : calls_)
      if (auto c = w.lock()) calls.push_back(std::move(c));
  }
  for (auto& c : calls) c->fail(status);
}

void BusCore::invoke_async(std::string_view target, Envelope&& request, CallOptions options,
                           std::function<void(Result<Envelope>)> done) {
  calls_made_.fetch_add(1, std::memory_order_relaxed);
  if (shut_down_) return done(Status::transport("bus closed"));
  auto subject = prepare_outbound(target, request, options);
  if (!subject.ok()) return done(subject.status());
  std::string inbox = transport_->new_inbox();
  request.reply_to = inbox;
  OutgoingEnvelope out(*transport_, carries_envelopes_);
  if (Status s = out.prepare(request); !s.ok()) return done(s.with_prefix("cannot encode request"));

  auto pending = std::make_shared<PendingInvoke>(call_context(), std::string(target), std::move(done));
  register_call(pending->id(), pending);
  // The inbox callback owns the call until it completes (completion unsubscribes).
  auto inbox_sub =
      transport_->subscribe_envelopes(inbox, {}, [pending](const TransportMessage& m) { pending->on_message(m); });
  if (!inbox_sub.ok()) return pending->fail(inbox_sub.status());
  pending->start(effective_timeout(options.timeout), std::move(inbox_sub).value());
  Status sent = send_request(subject.value(), inbox, out, request);
  if (!sent.ok()) pending->fail(sent);
}

Status BusCore::send_request(const std::string& subject, const std::string& inbox, OutgoingEnvelope& out,
                             Envelope& request) {
  // [E1]: the NATS reply subject lets the server answer 503 when nobody serves the target.
  const bool fast_fail = options_.fast_fail_no_handler && transport_->capabilities().no_responders;
  return out.send(subject, fast_fail ? std::string_view(inbox) : std::string_view(), request);
}

std::optional<Result<Envelope>> BusCore::invoke_wait(std::string_view target, Envelope& request,
                                                    const CallOptions& options) {
  // In-process replies come on the calling thread anyway; without pull subscriptions
  // (or with the shared reply inbox) invoke_async does the work.
  if (shut_down_ || in_process_) return std::nullopt;
  std::string inbox = transport_->new_inbox();
  auto pull = transport_->subscribe_pull(inbox);
  if (!pull.ok() || !pull.value()) return std::nullopt;
  calls_made_.fetch_add(1, std::memory_order_relaxed);
  auto subject = prepare_outbound(target, request, options);
  if (!subject.ok()) return subject.status();
  request.reply_to = inbox;
  OutgoingEnvelope out(*transport_, carries_envelopes_);
  if (Status s = out.prepare(request); !s.ok()) return s.with_prefix("cannot encode request");
  auto call = std::make_shared<WaitingInvoke>(call_context(), std::string(target), std::move(pull).value());
  register_call(call->id(), call);
  if (shut_down_) return Status::transport("bus closed");  // a shutdown that missed the registration
  Status sent = send_request(subject.value(), inbox, out, request);
  if (!sent.ok()) return sent;
  return call->wait(effective_timeout(options.timeout));
}

CancelFn BusCore::stream_invoke_async(std::string_view target, Envelope&& request, CallOptions options,
                                      FrameHandler on_frame, StreamEndHandler on_end) {
  calls_made_.fetch_add(1, std::memory_order_relaxed);
  auto noop = [](std::string_view) {};
  if (shut_down_) {
    on_end(Status::transport("bus closed"));
    return noop;
  }
  auto subject = prepare_outbound(target, request, options);
  if (!subject.ok()) {
    on_end(subject.status());
    return noop;
  }
  std::string inbox = transport_->new_inbox();
  request.reply_to = inbox;
  // Opt-in extensions travel as reserved metadata that reference servers ignore.
  request.metadata[std::string(meta_key::kStream)] = "true";
  if (options.cancel_on_abandon) request.metadata[std::string(meta_key::kCancel)] = "true";
  auto hb = options.heartbeat.count();
  bool heartbeat_on = hb >= 250 && hb <= 60000;
  if (heartbeat_on) request.metadata[std::string(meta_key::kHeartbeatMs)] = std::to_string(hb);
  OutgoingEnvelope out(*transport_, carries_envelopes_);
  if (Status s = out.prepare(request); !s.ok()) {
    on_end(s.with_prefix("cannot encode request"));
    return noop;
  }

  StreamCall::Limits limits;
  limits.max_pending = options_.max_pending;
  limits.max_gap = options_.max_gap;
  limits.timeout = effective_timeout(options.timeout);
  limits.idle_timeout = options.idle_timeout;
  limits.heartbeat = heartbeat_on ? options.heartbeat : std::chrono::milliseconds(0);
  CancelInfo cancel{options.cancel_on_abandon, inbox, request.event_id, options_.agent_id, std::string(target),
                    request.tenant_id};

  auto call = std::make_shared<StreamCall>(call_context(), std::string(target), limits, std::move(cancel),
                                           std::move(on_frame), std::move(on_end));
  register_call(call->id(), call);
  std::weak_ptr<StreamCall> weak_call = call;
  CancelFn cancel_fn = [weak_call](std::string_view reason) {
    if (auto c = weak_call.lock()) c->cancel(reason);
  };
  auto inbox_sub =
      transport_->subscribe_envelopes(inbox, {}, [call](const TransportMessage& m) { call->on_message(m); });
  if (!inbox_sub.ok()) {
    call->fail(inbox_sub.status());
    return cancel_fn;
  }
  call->start(std::move(inbox_sub).value());
  Status sent = send_request(subject.value(), inbox, out, request);
  if (!sent.ok()) call->fail(sent);
  return cancel_fn;
}

Result<std::unique_ptr<ClientStream>> BusCore::stream_invoke(std::string_view target, Envelope&& request,
                                                             CallOptions options) {
  auto shared = std::make_shared<ClientStreamImpl::Shared>();
  auto returned = std::make_shared<std::atomic<bool>>(false);
  // Filled by prepare: the request id, known only after the request is prepared.
  std::string request_id = request.event_id.empty() ? new_event_id() : request.event_id;
  request.event_id = request_id;
  CancelFn cancel = stream_invoke_async(
      target, std::move(request), options,
      [shared](const Envelope& frame) {
        {
          std::lock_guard lock(shared->mu);
          shared->frames.push_back(frame);
        }
        shared->cv.notify_one();
        return true;
      },
      [shared](const Status& status) {
        {
          std::lock_guard lock(shared->mu);
          shared->end = status;
        }
        shared->cv.notify_one();
      });
  {
    // A failure before anything was sent (bad target, send error) is the call's result.
    std::lock_guard lock(shared->mu);
    if (shared->end && !shared->end->ok() && shared->frames.empty() &&
        (shared->end->code() == ErrorCode::kInvalidRequest || shared->end->code() == ErrorCode::kCodecFailure ||
         shared->end->code() == ErrorCode::kTransportFailure)) {
      return *shared->end;
    }
  }
  return std::unique_ptr<ClientStream>(
      std::make_unique<ClientStreamImpl>(std::move(shared), std::move(cancel), std::move(request_id)));
}

// ---------------------------------------------------------------------------------
// Publish / subscribe

// Publish: an event is checked, given the handled call's context when published
// inside a handler, and sent. What is left empty (id, time, versions) is filled by the
// encoder, or by settling where the transport carries envelopes. A kept envelope is
// encoded as it is, without a copy, unless the bus must change it or hand it over.
Status BusCore::publish(Envelope&& event) {
  if (shut_down_) return Status::transport("bus closed");
  if (const Call* parent = context_parent()) {
    std::string tenant = event.tenant_id;  // Publish never fills tenant_id (WIRE.md §6)
    inherit_context(event, parent->request());
    event.tenant_id = tenant;
  }
  std::string subject;
  OAIO_RETURN_IF_ERROR(check_event(event, &subject));
  OutgoingEnvelope out(*transport_, carries_envelopes_);
  OAIO_RETURN_IF_ERROR(out.prepare(event));
  const std::string reply = event.reply_to;  // send may move `event` away
  OAIO_RETURN_IF_ERROR(out.send(subject, reply, event));
  events_published_.fetch_add(1, std::memory_order_relaxed);
  return Status();
}

Status BusCore::publish(const Envelope& event) {
  if (carries_envelopes_ || context_parent() != nullptr) return publish(Envelope(event));
  if (shut_down_) return Status::transport("bus closed");
  std::string subject;
  OAIO_RETURN_IF_ERROR(check_event(event, &subject));
  OutgoingEnvelope out(*transport_, carries_envelopes_);
  OAIO_RETURN_IF_ERROR(out.prepare_encoded(event));
  OAIO_RETURN_IF_ERROR(out.send_encoded(subject, event.reply_to));
  events_published_.fetch_add(1, std::memory_order_relaxed);
  return Status();
}

const Call* BusCore::context_parent() const { return options_.propagate_context ? current_call() : nullptr; }

Status BusCore::check_event(const Envelope& event, std::string* subject) const {
  if (event.event_type.empty()) return Status::invalid("publish needs an event_type");
  OAIO_RETURN_IF_ERROR(check_subject_name("event type", event.event_type));
  const std::string& tenant = event.tenant_id.empty() ? options_.tenant : event.tenant_id;
  if (!tenant.empty()) OAIO_RETURN_IF_ERROR(check_subject_name("tenant", tenant));
  if (!event.reply_to.empty()) OAIO_RETURN_IF_ERROR(check_subject_name("reply_to", event.reply_to));
  *subject = event_subject(options_.prefix, tenant, event.event_type);
  return Status();
}

Result<Subscription> BusCore::subscribe(std::string_view event_type, EventHandler handler, SubscribeOptions options) {
  OAIO_RETURN_IF_ERROR(check_subject_name("event type", event_type));
  if (!options.queue.empty()) OAIO_RETURN_IF_ERROR(check_subject_name("queue group", options.queue));
  return subscribe_events(event_subject(options_.prefix, options_.tenant, event_type), std::move(handler),
                          std::move(options));
}

Result<Subscription> BusCore::subscribe_raw(std::string_view subject, EventHandler handler, SubscribeOptions options) {
  if (subject.empty()) return Status::invalid("subscribe_raw needs a subject");
  return subscribe_events(std::string(subject), std::move(handler), std::move(options));
}

Result<Subscription> BusCore::subscribe_events(std::string subject, EventHandler handler, SubscribeOptions options) {
  if (shut_down_) return Status::transport("bus closed");
  // Concurrency 1: events of one subscription are handled one at a time, in order.
  auto lane = std::make_shared<Lane>(executor_.get(), 1, options_.max_queue);
  auto shared_handler = std::make_shared<EventHandler>(std::move(handler));
  auto drops = std::make_shared<LogLimiter>();
  std::weak_ptr<BusCore> weak = weak_from_this();
  bool run_inline = options.run_inline;
  auto sub = transport_->subscribe_envelopes(
      subject, options.queue, [weak, lane, shared_handler, drops, run_inline, subject](const TransportMessage& msg) {
        auto core = weak.lock();
        if (!core || msg.status != 0) return;
        auto decoded = receive_envelope(msg);
        if (!decoded.ok()) {
          core->drop(*drops, [&] {
            return "dropped undecodable event on " + std::string(msg.subject) + ": " + decoded.status().message();
          });
          return;
        }
        core->events_received_.fetch_add(1, std::memory_order_relaxed);
        auto event = std::make_shared<Envelope>(std::move(decoded).value());
        auto run = [core, shared_handler, event] {
          try {
            (*shared_handler)(*event);
          } catch (const std::exception& e) {
            core->log(LogLevel::kError, "event handler for " + event->event_type + " threw: " + e.what());
          } catch (...) {
            core->log(LogLevel::kError, "event handler for " + event->event_type + " threw");
          }
        };
        if (run_inline) return run();
        if (!lane->submit([run](std::function<void()> release) {
              run();
              release();
            })) {
          core->drop(*drops, [&] { return "event subscription on " + subject + " is overloaded: event dropped"; });
        }
      });
  if (!sub.ok()) return sub.status();
  auto owned = std::shared_ptr<TransportSubscription>(std::move(sub).value());
  return Subscription([owned] { owned->unsubscribe(); });
}

// ---------------------------------------------------------------------------------
// Server side

void BusCore::use(Middleware middleware) {
  std::lock_guard lock(middleware_mu_);
  middleware_.push_back(std::move(middleware));
}

Result<Subscription> BusCore::handle(std::string_view target, Handler handler, HandlerOptions options,
                                     bool is_stream) {
  if (shut_down_) return Status::transport("bus closed");
  OAIO_RETURN_IF_ERROR(check_subject_name("target", target));
  std::string queue = options.queue.value_or(std::string(target));
  if (!queue.empty()) OAIO_RETURN_IF_ERROR(check_subject_name("queue group", queue));
  if (!options_.tenant.empty()) OAIO_RETURN_IF_ERROR(check_subject_name("tenant", options_.tenant));

  auto served = std::make_shared<Served>();
  served->target = std::string(target);
  served->is_stream = is_stream;
  served->serve_invoke = is_stream && options.serve_invoke;
  served->run_inline = options.run_inline;
  {
    std::lock_guard lock(middleware_mu_);
    for (auto it = middleware_.rbegin(); it != middleware_.rend(); ++it) handler = (*it)(std::move(handler));
  }
  served->handler = std::move(handler);
  served->lane = std::make_shared<Lane>(executor_.get(),
                                        options.max_concurrency ? options.max_concurrency : options_.max_concurrency,
                                        options.max_queue ? options.max_queue : options_.max_queue);
  std::weak_ptr<BusCore> weak_core = weak_from_this();
  std::weak_ptr<Served> weak_served = served;
  auto sub = transport_->subscribe_envelopes(invoke_subject(options_.prefix, options_.tenant, target), queue,
                                             [weak_core, weak_served](const TransportMessage& msg) {
                                               auto core = weak_core.lock();
                                               auto s = weak_served.lock();
                                               if (core && s && s->active) core->on_request(s, msg);
                                             });
  if (!sub.ok()) return sub.status();
  served->subscription = std::move(sub).value();
  {
    std::lock_guard lock(served_mu_);
    registrations_.push_back(served);
    registrations_.erase(std::remove_if(registrations_.begin(), registrations_.end(),
                                        [](const std::weak_ptr<Served>& w) { return w.expired(); }),
                         registrations_.end());
  }
  return Subscription([served] { served->stop(); });
}

void BusCore::on_request(const std::shared_ptr<Served>& served, const TransportMessage& msg) {
  if (msg.status != 0) return;
  auto decoded = receive_envelope(msg);
  if (!decoded.ok()) {
    drop(served->drops, [&] {
      return "dropped undecodable request on " + std::string(msg.subject) + ": " + decoded.status().message();
    });
    return;
  }
  Envelope& request = decoded.value();
  if (!request.reply_to.empty()) {
    if (Status s = check_subject_name("reply_to", request.reply_to); !s.ok()) {
      drop(served->drops,
           [&] { return "dropped request " + request.event_id + " for " + served->target + ": " + s.message(); });
      return;
    }
  } else if (served->is_stream && !served->serve_invoke) {
    drop(served->drops,
         [&] { return "dropped stream request " + request.event_id + " for " + served->target + ": no reply_to"; });
    return;
  }
  if (draining_) {
    requests_rejected_.fetch_add(1, std::memory_order_relaxed);
    reply_error(request, Status::unavailable("target \"" + served->target + "\" is draining"), served->is_stream);
    return;
  }

  // A serve_invoke target streams only to callers that asked for a stream.
  const bool streaming =
      served->is_stream &&
      (!served->serve_invoke || metadata_bool(request.metadata, meta_key::kStream).value_or(false));
  auto call = std::make_shared<CallImpl>(std::move(request), served->target, streaming, view_.get());
  call->set_scheduler(scheduler_);
  if (served->is_stream) {
    // Made when the handler first asks (at once for a stream, which needs it for [E2]
    // and [E3]): an Invoke caller of a serve_invoke target whose handler only completes
    // gets the plain Invoke reply, with no writer, request copy or closure.
    call->set_writer_factory(weak_from_this(), [](BusCore& core, const CallImpl& c) {
      return core.make_stream_writer(c.request(), /*invoke_mode=*/!c.is_stream());
    });
    if (streaming) call->ensure_writer();
  }
  if (streaming) {
    const Envelope& req = call->request();
    std::weak_ptr<BusCore> weak = weak_from_this();
    std::string reply_to = req.reply_to;
    // [E2]: listen for the caller's cancel before the handler starts.
    if (metadata_bool(req.metadata, meta_key::kCancel).value_or(false)) {
      std::weak_ptr<CallImpl> weak_call = call;
      std::string request_id = req.event_id;
      auto cancel_sub = transport_->subscribe_envelopes(
          cancel_subject(reply_to), {}, [weak, weak_call, request_id](const TransportMessage& m) {
            if (m.status != 0) return;
            auto cancel = receive_envelope(m);
            if (!cancel.ok() || cancel.value().correlation_id != request_id) return;
            auto core = weak.lock();
            auto c = weak_call.lock();
            if (!core || !c) return;
            // Never act on the delivery thread: the writer may be publishing right here.
            core->executor_->post([c] {
              c->ensure_writer()->cancel_by_caller();
              c->cancel();
            });
          });
      if (cancel_sub.ok()) {
        std::shared_ptr<TransportSubscription> owned(std::move(cancel_sub).value());
        call->add_cleanup([owned] { owned->unsubscribe(); });
      } else {
        log(LogLevel::kWarn, "cannot listen for cancel of " + req.event_id + ": " + cancel_sub.status().message());
      }
    }
    // [E3]
    if (auto hb = metadata_int(req.metadata, meta_key::kHeartbeatMs); hb && *hb >= 250 && *hb <= 60000) {
      start_heartbeats(call, std::chrono::milliseconds(*hb));
    }
  }
  requests_handled_.fetch_add(1, std::memory_order_relaxed);
  dispatch(served, std::move(call));
}

std::shared_ptr<StreamWriterImpl> BusCore::make_stream_writer(const Envelope& request, bool invoke_mode) {
  std::weak_ptr<BusCore> weak = weak_from_this();
  std::string reply_to = request.reply_to;
  return std::make_shared<StreamWriterImpl>(
      request, options_.agent_id,
      [weak, reply_to](Envelope& frame) {
        if (reply_to.empty()) return Status();  // fire-and-forget invoke: nothing to answer
        auto core = weak.lock();
        return core ? core->publish_reply(reply_to, frame) : Status::transport("bus closed");
      },
      invoke_mode);
}

void BusCore::finish_serving(std::size_t slot) {
  {
    std::lock_guard lock(served_mu_);
    serving_.remove(slot);
  }
  serving_cv_.notify_all();
}

void BusCore::complete_served(const std::shared_ptr<CallImpl>& call, std::size_t slot, Result<Envelope>&& result) {
  if (!call->mark_completed()) {
    log(LogLevel::kWarn, "handler for \"" + call->target() + "\" completed twice; ignored");
    return;
  }
  if (StreamWriterImpl* writer = call->writer_if_made()) {
    writer->finish(result.ok() ? Status() : result.status());
  } else {
    complete_invoke(call, std::move(result));
  }
  call->run_cleanups();
  finish_serving(slot);
  call->release_slot();
}

void BusCore::dispatch(const std::shared_ptr<Served>& served, std::shared_ptr<CallImpl> call) {
  std::size_t slot;
  {
    std::lock_guard lock(served_mu_);
    slot = serving_.add(call);
  }
  auto core = shared_from_this();
  LaneTask task = [core, served, call, slot](std::function<void()> release) {
    call->set_release(std::move(release));
    if (core->shut_down_) return core->complete_served(call, slot, Status::unavailable("bus closed before the handler started"));
    Done done = [core, call, slot](Result<Envelope>&& result) { core->complete_served(call, slot, std::move(result)); };
    CallScope scope(core->options_.propagate_context ? call.get() : nullptr);
    try {
      served->handler(call, std::move(done));
    } catch (const std::exception& e) {
      core->complete_served(call, slot, panic(e.what()));
    } catch (...) {
      core->complete_served(call, slot, panic("unknown exception"));
    }
  };
  const bool admitted =
      served->run_inline ? served->lane->submit_here(std::move(task)) : served->lane->submit(std::move(task));
  if (!admitted) {
    requests_rejected_.fetch_add(1, std::memory_order_relaxed);
    reply_error(call->request(),
                Status::backpressure("target \"" + served->target + "\" is overloaded: its queue is full"), false);
    call->run_cleanups();
    finish_serving(slot);
  }
}

void BusCore::complete_invoke(const std::shared_ptr<CallImpl>& call, Result<Envelope>&& result) {
  const Envelope& request = call->request();
  if (request.reply_to.empty()) {
    if (!result.ok()) log(LogLevel::kWarn, "handler for \"" + call->target() + "\" failed: " + result.status().to_string());
    return;  // fire-and-forget request: nothing to answer
  }
  // The reply is built in place (a shell, or the handler's own envelope): moving an
  // Envelope costs two dozen string moves.
  Envelope shell;
  Envelope* reply = &shell;
  if (!result.ok()) {
    fill_reply_shell(shell, request, event_type::kResponseError, options_.agent_id);
    shell.payload = encode_error_payload(wire_error(result.status()));
    shell.is_final = true;
  } else if (Envelope& value = result.value(); value.event_type.empty()) {
    fill_reply_shell(shell, request, event_type::kResponseFinal, options_.agent_id);
    shell.payload = std::move(value.payload);
    overlay_metadata(shell.metadata, value.metadata);  // the shell already inherited the request's
    shell.is_final = true;
  } else {
    reply = &value;
    complete_reply(value, request, options_.agent_id);
  }
  reply->seq = 0;  // an invoke reply has no seq key
  const bool is_error_reply = reply->event_type == event_type::kResponseError;
  Status sent = publish_reply(request.reply_to, *reply);
  if (!sent.ok()) {
    log(LogLevel::kWarn, "reply to " + request.event_id + " for \"" + call->target() + "\" failed: " + sent.message());
    if (!is_error_reply &&
        (sent.code() == ErrorCode::kCodecFailure || sent.code() == ErrorCode::kInvalidRequest)) {
      // The result could not be sent (bad JSON, too large): tell the caller instead of
      // letting it time out.
      reply_error(request, sent.with_prefix("the reply of \"" + call->target() + "\" could not be sent"), false);
    }
  }
}

template <typename Message>
void BusCore::drop(LogLimiter& limiter, Message&& message) {
  frames_dropped_.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t held_back = 0;
  if (limiter.admit(&held_back)) log(LogLevel::kWarn, message() + LogLimiter::held_back_note(held_back));
}

void BusCore::reply_error(const Envelope& request, const Status& error, bool /*is_stream*/) {
  if (request.reply_to.empty()) return;
  Envelope reply = make_reply_shell(request, event_type::kResponseError, options_.agent_id);
  reply.payload = encode_error_payload(wire_error(error));
  reply.is_final = true;  // as the only frame of a stream it takes seq 0, written without the key
  Status sent = publish_reply(request.reply_to, reply);
  if (!sent.ok()) log(LogLevel::kWarn, "error reply to " + request.event_id + " failed: " + sent.message());
}

Status BusCore::publish_reply(const std::string& reply_to, Envelope& frame) {
  if (shut_down_) return Status::transport("bus closed");
  OutgoingEnvelope out(*transport_, carries_envelopes_);
  OAIO_RETURN_IF_ERROR(out.prepare(frame));
  Status s = out.send(reply_to, {}, frame);
  if (s.ok()) replies_sent_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

void BusCore::start_heartbeats(const std::shared_ptr<CallImpl>& call, std::chrono::milliseconds interval) {
  auto writer = call->shared_writer();
  auto next = writer->heartbeat(interval, /*force=*/true);  // the first goes out at once
  if (!next) return;
  std::weak_ptr<BusCore> weak_core = weak_from_this();
  std::weak_ptr<StreamWriterImpl> weak_writer = writer;
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [weak_core, weak_writer, interval, tick_weak = std::weak_ptr<std::function<void()>>(tick)] {
    auto core = weak_core.lock();
    auto w = weak_writer.lock();
    auto self = tick_weak.lock();
    if (!core || !w || !self) return;
    if (auto due = w->heartbeat(interval, false)) core->timers_->schedule(*due, [self] { (*self)(); });
  };
  // The call owns the tick function; the timer only holds weak references.
  call->add_cleanup([tick] {});
  timers_->schedule(*next, [t = std::weak_ptr<std::function<void()>>(tick)] {
    if (auto f = t.lock()) (*f)();
  });
}

Status BusCore::drain(std::chrono::milliseconds deadline) {
  draining_ = true;
  std::vector<std::shared_ptr<Served>> registrations;
  {
    std::lock_guard lock(served_mu_);
    for (auto& w : registrations_)
      if (auto s = w.lock()) registrations.push_back(std::move(s));
  }
  // Stop taking requests: with queue groups, other replicas get them from now on.
  for (auto& s : registrations) s->stop();
  std::unique_lock lock(served_mu_);
  bool idle = serving_cv_.wait_for(lock, deadline, [&] { return serving_.empty(); });
  if (idle) return Status();
  std::vector<std::shared_ptr<CallImpl>> remaining = serving_.live();
  lock.unlock();
  for (auto& c : remaining) c->cancel();
  return Status::timeout(std::to_string(remaining.size()) + " call(s) still running at the drain deadline; cancelled");
}

// ---------------------------------------------------------------------------------
// BusForwarder

BusForwarder::~BusForwarder() {
  if (owner_) owner_->shutdown();
}
void BusForwarder::invoke_async(std::string_view target, Envelope request, CallOptions options,
                                std::function<void(Result<Envelope>)> done) {
  core_->invoke_async(target, std::move(request), options, std::move(done));
}
Result<Envelope> BusForwarder::invoke_blocking(std::string_view target, Envelope&& request, CallOptions options) {
  if (auto reply = core_->invoke_wait(target, request, options)) return std::move(*reply);
  return Bus::invoke_blocking(target, std::move(request), std::move(options));
}
CancelFn BusForwarder::stream_invoke_async(std::string_view target, Envelope request, CallOptions options,
                                           FrameHandler on_frame, StreamEndHandler on_end) {
  return core_->stream_invoke_async(target, std::move(request), options, std::move(on_frame), std::move(on_end));
}
Result<std::unique_ptr<ClientStream>> BusForwarder::stream_invoke(std::string_view target, Envelope request,
                                                                  CallOptions options) {
  return core_->stream_invoke(target, std::move(request), options);
}
Status BusForwarder::publish(Envelope&& event) { return core_->publish(std::move(event)); }
Status BusForwarder::publish(const Envelope& event) { return core_->publish(event); }
Result<Subscription> BusForwarder::subscribe(std::string_view event_type, EventHandler handler,
                                             SubscribeOptions options) {
  return core_->subscribe(event_type, std::move(handler), std::move(options));
}
Result<Subscription> BusForwarder::subscribe_raw(std::string_view subject, EventHandler handler,
                                                 SubscribeOptions options) {
  return core_->subscribe_raw(subject, std::move(handler), std::move(options));
}
void BusForwarder::use(Middleware middleware) { core_->use(std::move(middleware)); }
Result<Subscription> BusForwarder::handle_invoke(std::string_view target, Handler handler, HandlerOptions options) {
  return core_->handle(target, std::move(handler), std::move(options), false);
}
Result<Subscription> BusForwarder::handle_stream(std::string_view target, Handler handler, HandlerOptions options) {
  return core_->handle(target, std::move(handler), std::move(options), true);
}
Status BusForwarder::drain(std::chrono::milliseconds deadline) { return core_->drain(deadline); }
const BusOptions& BusForwarder::options() const { return core_->options(); }
BusStats BusForwarder::stats() const { return core_->stats(); }
Transport& BusForwarder::transport() { return core_->transport(); }

}  // namespace oaio::detail
