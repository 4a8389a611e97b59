#include "bridge_host.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <thread>
#include <nlohmann/json.hpp>

#include "call_table.h"
#include "metrics.h"
#include "oaio/middleware.h"

namespace oaio::host {
namespace {

std::string_view view(oaio_str s) { return s.data ? std::string_view(s.data, s.len) : std::string_view(); }
oaio_str str(std::string_view s) { return oaio_str{s.data(), s.size()}; }

LogLevel to_log_level(int32_t level) {
  switch (level) {
    case OAIO_LOG_DEBUG: return LogLevel::kDebug;
    case OAIO_LOG_INFO: return LogLevel::kInfo;
    case OAIO_LOG_WARN: return LogLevel::kWarn;
    default: return LogLevel::kError;
  }
}

// A zeroed oaio_error sized for this host.
oaio_error empty_error() {
  oaio_error e{};
  e.struct_size = sizeof(oaio_error);
  e.retryable = -1;
  return e;
}

// Runs a plugin hook; a C++ exception escaping it (a plugin written without the helper)
// becomes an error instead of taking the host down.
template <typename Fn>
oaio_status guarded(Fn&& fn, std::string* what) {
  try {
    return fn();
  } catch (const std::exception& e) {
    *what = std::string("plugin threw: ") + e.what();
  } catch (...) {
    *what = "plugin threw an exception";
  }
  return OAIO_ERR_INTERNAL;
}

// Fills request fields from a plugin's call options.
void apply_opts(const oaio_call_opts* raw, Envelope& env, CallOptions& call_opts) {
  if (!raw) return;
  oaio_call_opts o{};
  std::memcpy(&o, raw, std::min<std::size_t>(raw->struct_size, sizeof o));
  if (o.timeout_ms) call_opts.timeout = std::chrono::milliseconds(o.timeout_ms);
  env.session_id = std::string(view(o.session_id));
  env.conversation_id = std::string(view(o.conversation_id));
  env.tenant_id = std::string(view(o.tenant_id));
  env.user_id = std::string(view(o.user_id));
  env.channel = std::string(view(o.channel));
  if (o.metadata.len) {
    auto meta = nlohmann::json::parse(view(o.metadata), nullptr, false);
    if (meta.is_object()) {
      for (auto& [k, v] : meta.items()) env.metadata[k] = v.dump();
    }
  }
}

}  // namespace

Status status_from_plugin_error(oaio_status code, const oaio_error* raw) {
  oaio_error e = empty_error();
  if (raw) std::memcpy(&e, raw, std::min<std::size_t>(raw->struct_size, sizeof e));
  if (code == OAIO_OK) code = e.code;
  std::string message(view(e.message));
  std::optional<bool> retryable;
  if (e.retryable >= 0) retryable = e.retryable != 0;
  ErrorCode ec;
  switch (code) {
    case OAIO_ERR_AGENT_TIMEOUT: ec = ErrorCode::kAgentTimeout; break;
    case OAIO_ERR_AGENT_UNAVAILABLE: ec = ErrorCode::kAgentUnavailable; break;
    case OAIO_ERR_BACKPRESSURE: ec = ErrorCode::kBackpressureDrop; break;
    case OAIO_ERR_TRANSPORT: ec = ErrorCode::kTransportFailure; break;
    case OAIO_ERR_CODEC: ec = ErrorCode::kCodecFailure; break;
    case OAIO_ERR_AUTH: ec = ErrorCode::kAuthFailure; break;
    case OAIO_ERR_INVALID_REQUEST: ec = ErrorCode::kInvalidRequest; break;
    case OAIO_ERR_NO_HANDLER: ec = ErrorCode::kNoHandler; break;
    case OAIO_ERR_CANCELLED:
      ec = ErrorCode::kInvalidRequest;
      if (message.empty()) message = "cancelled";
      break;
    default: ec = ErrorCode::kAgentUnavailable; break;  // INTERNAL, INCOMPATIBLE, CLOSED, unknown
  }
  if (message.empty()) message = "bridge error";
  return Status(ec, std::move(message), retryable);
}

oaio_status plugin_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return OAIO_OK;
    case ErrorCode::kAgentTimeout: return OAIO_ERR_AGENT_TIMEOUT;
    case ErrorCode::kBackpressureDrop: return OAIO_ERR_BACKPRESSURE;
    case ErrorCode::kTransportFailure: return OAIO_ERR_TRANSPORT;
    case ErrorCode::kCodecFailure: return OAIO_ERR_CODEC;
    case ErrorCode::kAuthFailure: return OAIO_ERR_AUTH;
    case ErrorCode::kInvalidRequest: return OAIO_ERR_INVALID_REQUEST;
    case ErrorCode::kNoHandler: return OAIO_ERR_NO_HANDLER;
    default: return OAIO_ERR_AGENT_UNAVAILABLE;
  }
}

// A plugin subscription: fn is never called after unsubscribe() returns. The recursive
// mutex lets the plugin unsubscribe from inside fn.
struct BridgeHost::Subscriber {
  std::recursive_mutex mu;
  bool active = true;  // guarded by mu
  oaio_event_fn fn;
  void* user_data;
  Subscription subscription;
};

// An outgoing call the plugin made; fn is called once more at most after cancel.
struct BridgeHost::Outgoing {
  std::mutex mu;
  bool ended = false;  // guarded by mu
  CancelFn cancel;     // streams only
  std::function<void(const Status&)> fail;  // reports a local end (cancel) to the plugin
};

BridgeHost::BridgeHost(BridgeHostOptions options, std::shared_ptr<LoadedPlugin> plugin)
    : options_(std::move(options)), plugin_(std::move(plugin)) {
  (void)CallClock::uses_tsc();  // calibrates once per process now, not in the first call
  if (options_.metrics) {  // idempotent across bridges and restarts
    options_.metrics->define("oaio_bridge_calls_total", MetricKind::kCounter, "Calls served by bridges, by outcome");
    options_.metrics->define("oaio_bridge_call_errors_total", MetricKind::kCounter, "Failed bridge calls by ACP code");
    options_.metrics->define("oaio_bridge_call_duration_seconds", MetricKind::kHistogram,
                             "Time from a call reaching a bridge to its completion");
  }
}

BridgeHost::~BridgeHost() {
  stop();
  destroy();
}

void BridgeHost::log(int32_t level, std::string_view message) {
  if (options_.logger) options_.logger->write(to_log_level(level), options_.bridge_name, message);
}

bool BridgeHost::log_enabled(int32_t level) const {
  return options_.logger && options_.logger->enabled(to_log_level(level));
}

Status BridgeHost::create(const std::string& config_json) {
  if (created_) return Status::invalid("bridge already created");
  oaio_error err = empty_error();
  std::string threw;
  oaio_status s = guarded([&] { return plugin_->api.create(handle(), str(config_json), &instance_, &err); }, &threw);
  if (s != OAIO_OK) {
    Status st = status_from_plugin_error(s, &err);
    return threw.empty() ? st.with_prefix("create") : Status::unavailable("create: " + threw);
  }
  instance_ready_.store(true, std::memory_order_release);
  created_ = true;
  return Status();
}

Status BridgeHost::start() {
  if (!created_) return Status::invalid("bridge not created");
  oaio_error err = empty_error();
  std::string threw;
  oaio_status s = guarded([&] { return plugin_->api.start(instance_, &err); }, &threw);
  if (s != OAIO_OK) {
    Status st = status_from_plugin_error(s, &err);
    return threw.empty() ? st.with_prefix("start") : Status::unavailable("start: " + threw);
  }
  return Status();
}

Status BridgeHost::drain(std::chrono::milliseconds deadline) {
  accepting_ = false;
  if (!created_ || !plugin_->api.drain) return Status();
  std::string threw;
  oaio_status s = guarded(
      [&] { return plugin_->api.drain(instance_, static_cast<std::uint32_t>(deadline.count())); }, &threw);
  if (s != OAIO_OK) return status_from_plugin_error(s, nullptr).with_prefix("drain");
  return Status();
}

void BridgeHost::stop() {
  if (!created_ || stopped_) return;
  stopped_ = true;
  accepting_ = false;
  // Targets first: no new calls reach the plugin while it stops.
  std::map<std::string, Subscription> targets;
  {
    std::lock_guard lock(mu_);
    targets.swap(targets_);
  }
  for (auto& [name, sub] : targets) {
    sub.unsubscribe();
    if (options_.catalog) options_.catalog->remove(name);
  }
  std::string threw;
  guarded(
      [&] {
        plugin_->api.stop(instance_);
        return OAIO_OK;
      },
      &threw);
  if (!threw.empty()) log(OAIO_LOG_ERROR, "stop: " + threw);
  // The plugin promised no more host calls: close what it left open.
  std::map<std::uint64_t, std::shared_ptr<Subscriber>> subscribers;
  std::map<std::uint64_t, std::shared_ptr<Outgoing>> outgoing;
  {
    std::lock_guard lock(mu_);
    subscribers.swap(subscribers_);
    outgoing.swap(outgoing_);
  }
  for (auto& [_, s] : subscribers) {
    std::lock_guard lock(s->mu);
    s->active = false;
    s->subscription.unsubscribe();
  }
  for (auto& [_, o] : outgoing) {
    std::lock_guard lock(o->mu);
    o->ended = true;
    if (o->cancel) o->cancel("bridge stopped");
  }
  // Calls the plugin never completed get an error rather than a caller timeout. Taking
  // them from the table keeps completion exactly-once if the plugin completes late.
  for (oaio_call* h : call_table().live_handles(this)) {
    if (CallRef pc = call_table().take(h)) {
      Status stopped = Status::unavailable("bridge \"" + options_.bridge_name + "\" stopped");
      retire_call(*pc, &stopped)(std::move(stopped));
    }
  }
  // A completion that took its call before we did may still be retiring it, and it
  // touches this bridge until its decrement of open_calls_. Waiting for that (the
  // acquire load pairs with the decrement) means nothing touches the bridge once stop()
  // has returned, so a supervisor may destroy it at once. Those retirements take
  // microseconds; the bound only covers a call that slipped in as stop() began.
  if (!wait_for_open_calls(std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
    log(OAIO_LOG_WARN, std::to_string(open_calls()) + " call(s) still retiring when the bridge stopped");
  }
  if (options_.catalog) options_.catalog->remove_bridge(options_.bridge_name);
}

bool BridgeHost::wait_for_open_calls(std::chrono::steady_clock::time_point until) const {
  for (int spins = 0; open_calls_.load(std::memory_order_acquire) > 0; ++spins) {
    if (std::chrono::steady_clock::now() >= until) return false;
    if (spins < 64) {
      std::this_thread::yield();  // a retirement in progress ends within microseconds
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(spins < 1000 ? 100 : 5000));
    }
  }
  return true;
}

void BridgeHost::destroy() {
  if (!created_ || destroyed_) return;
  destroyed_ = true;
  std::string threw;
  guarded(
      [&] {
        plugin_->api.destroy(instance_);
        return OAIO_OK;
      },
      &threw);
  if (!threw.empty()) log(OAIO_LOG_ERROR, "destroy: " + threw);
  instance_ = nullptr;
}

std::size_t BridgeHost::open_calls() const { return open_calls_.load(std::memory_order_acquire); }

// ---- inbound calls --------------------------------------------------------------

Handler BridgeHost::make_handler(const std::string& target, void* user_data, bool streaming_target) {
  TargetMetrics metrics;
  if (MetricsRegistry* m = options_.metrics) {
    const std::string& bridge = options_.bridge_name;
    metrics.ok = m->series("oaio_bridge_calls_total", {{"bridge", bridge}, {"target", target}, {"outcome", "ok"}});
    metrics.failed = m->series("oaio_bridge_calls_total", {{"bridge", bridge}, {"target", target}, {"outcome", "error"}});
    metrics.duration = m->series("oaio_bridge_call_duration_seconds", {{"bridge", bridge}, {"target", target}});
  }
  return [this, user_data, streaming_target, metrics](const std::shared_ptr<Call>& call, Done done) {
    run_call(call, std::move(done), user_data, streaming_target, metrics);
  };
}

// The per-call path. Everything about the call lives in its call-table slot (pooled),
// so handing a call to the plugin allocates nothing here: no closure around the bus
// Done (retire_call does that work), no per-bridge set (the open count is a counter),
// and a cancel hook that captures only the handle (small enough for std::function's
// inline storage).
void BridgeHost::run_call(const std::shared_ptr<Call>& call, Done done, void* user_data, bool streaming_target,
                          const TargetMetrics& metrics) {
  if (!accepting_ || !instance_ready_.load(std::memory_order_acquire)) {
    done(Status::unavailable("bridge \"" + options_.bridge_name + "\" is not accepting calls"));
    return;
  }
  // Counted before the handle goes live, so a completion can never run the count below zero.
  open_calls_.fetch_add(1, std::memory_order_relaxed);
  oaio_call* handle_value = nullptr;
  CallRef pc = call_table().add(
      [&](PluginCall& p) {
        p.call = call;
        p.done = std::move(done);
        p.bridge = this;
        p.target_user_data = user_data;
        p.streaming_target = streaming_target;
        p.metrics = metrics;
        p.started = CallClock::now();
      },
      &handle_value);
  if (!pc) {
    open_calls_.fetch_sub(1, std::memory_order_acq_rel);
    done(Status::unavailable("bridge \"" + options_.bridge_name + "\": too many calls in flight"));
    return;
  }
  auto hook_cancel = [&] {
    call->on_cancel([handle_value] {
      if (CallRef p = call_table().get(handle_value)) p->bridge->cancel_inbound(*p, handle_value);
    });
  };
  // A call hook that may block gets its cancel hook first, so a cancel can reach the
  // plugin while the hook still runs. A nonblocking one returns at once, so its cancel
  // hook is added after, and only if the call is still open: most such calls are
  // complete by then (a cancel that came meanwhile is delivered at registration).
  const bool cancellable = plugin_->api.cancel != nullptr;
  const bool hook_after = (plugin_->api.features & OAIO_FEATURE_NONBLOCKING_CALL) != 0;
  if (cancellable && !hook_after) hook_cancel();
  oaio_error err = empty_error();
  std::string threw;
  oaio_status s;
  {
    CallTable::HandOff handing(pc, handle_value);  // `pc` pins the call until run_call returns
    s = guarded([&] { return plugin_->api.call(instance_, handle_value, &err); }, &threw);
  }
  if (cancellable && hook_after && s == OAIO_OK && call_table().live(handle_value)) hook_cancel();
  if (s != OAIO_OK) {
    // Refused at once: the plugin completes nothing for this call.
    if (CallRef p = call_table().take(handle_value)) {
      Status refused = threw.empty() ? status_from_plugin_error(s, &err) : Status::unavailable(threw);
      retire_call(*p, &refused)(std::move(refused));
    }
  }
}

void BridgeHost::cancel_inbound(PluginCall& call, oaio_call* handle) {
  if (call.cancelled.exchange(true)) return;
  std::string threw;
  guarded(
      [&] {
        plugin_->api.cancel(instance_, handle);
        return OAIO_OK;
      },
      &threw);
  if (!threw.empty()) log(OAIO_LOG_ERROR, "cancel: " + threw);
}

Done BridgeHost::retire_call(PluginCall& call, const Status* error) {
  const TargetMetrics& m = call.metrics;
  m.duration.record(CallClock::seconds_between(call.started, CallClock::now()));
  if (!error) {
    m.ok.record(1);
  } else {
    m.failed.record(1);
    if (MetricsRegistry* registry = options_.metrics)
      registry->record("oaio_bridge_call_errors_total", 1,
                       {{"bridge", options_.bridge_name}, {"code", std::string(error->code_name())}});
  }
  // Retired before the bus hears of it: whoever waits for the drain sees the count
  // reach zero no later than the caller sees the reply. This is the call's last touch
  // of `this`: stop() waits for the count to reach zero (wait_for_retiring_calls), so a
  // plugin that reports FAILED and then completes cannot race the supervisor
  // destroying the bridge (HostAppTest.PluginReportingFailureIsRestarted under TSan).
  open_calls_.fetch_sub(1, std::memory_order_acq_rel);
  return std::move(call.done);
}

oaio_status BridgeHost::register_target(const oaio_target_desc& desc) {
  std::string local(view(desc.name));
  if (local.empty()) return OAIO_ERR_INVALID_REQUEST;
  std::string full = options_.target_prefix.empty() ? local : options_.target_prefix + "." + local;
  bool invoke = desc.flows & OAIO_FLOW_INVOKE;
  bool stream = desc.flows & OAIO_FLOW_STREAM;
  if (!invoke && !stream) invoke = true;
  HandlerOptions ho;
  ho.max_concurrency = options_.max_concurrency;
  ho.run_inline = (plugin_->api.features & OAIO_FEATURE_NONBLOCKING_CALL) != 0;
  Result<Subscription> sub = Status::invalid("unreachable");
  if (stream) {
    ho.serve_invoke = invoke;
    sub = options_.bus->handle_stream(full, make_handler(full, desc.user_data, true), ho);
  } else {
    sub = options_.bus->handle_invoke(full, make_handler(full, desc.user_data, false), ho);
  }
  if (!sub.ok()) {
    log(OAIO_LOG_ERROR, "cannot serve target \"" + full + "\": " + sub.status().message());
    return plugin_code_for(sub.status().code());
  }
  {
    std::lock_guard lock(mu_);
    targets_[full] = std::move(sub).value();  // replaces (and unsubscribes) an older registration
  }
  if (options_.catalog) {
    CatalogEntry e;
    e.target = full;
    e.bridge = options_.bridge_name;
    e.plugin = plugin_->name();
    e.tenant = options_.bus->options().tenant;
    e.invoke = invoke;
    e.stream = stream;
    e.description = std::string(view(desc.description));
    if (desc.input_schema.len) {
      auto schema = nlohmann::json::parse(view(desc.input_schema), nullptr, false);
      if (!schema.is_discarded()) e.input_schema = std::move(schema);
    }
    options_.catalog->put(std::move(e));
  }
  return OAIO_OK;
}

oaio_status BridgeHost::unregister_target(std::string_view name) {
  std::string full = options_.target_prefix.empty() ? std::string(name) : options_.target_prefix + "." + std::string(name);
  Subscription sub;
  {
    std::lock_guard lock(mu_);
    auto it = targets_.find(full);
    if (it == targets_.end()) return OAIO_ERR_NO_HANDLER;
    sub = std::move(it->second);
    targets_.erase(it);
  }
  sub.unsubscribe();
  if (options_.catalog) options_.catalog->remove(full);
  return OAIO_OK;
}

// ---- events -----------------------------------------------------------------------

oaio_status BridgeHost::publish(std::string_view event_type, std::string_view payload, const oaio_call_opts* opts) {
  Envelope e;
  e.event_type = std::string(event_type);
  e.payload = std::string(payload);
  CallOptions unused;
  apply_opts(opts, e, unused);
  Status s = options_.bus->publish(std::move(e));
  if (!s.ok()) log(OAIO_LOG_WARN, "publish " + std::string(event_type) + ": " + s.message());
  return plugin_code_for(s.code());
}

oaio_status BridgeHost::subscribe(std::string_view event_type, std::string_view queue, oaio_event_fn fn,
                                  void* user_data, std::uint64_t* id) {
  if (!fn) return OAIO_ERR_INVALID_REQUEST;
  auto sub = std::make_shared<Subscriber>();
  sub->fn = fn;
  sub->user_data = user_data;
  std::weak_ptr<Subscriber> weak = sub;
  SubscribeOptions so;
  so.queue = std::string(queue);
  auto result = options_.bus->subscribe(
      event_type,
      [weak](const Envelope& event) {
        auto s = weak.lock();
        if (!s) return;
        auto bytes = encode_envelope(event);
        std::lock_guard lock(s->mu);
        if (!s->active) return;
        s->fn(s->user_data, str(event.event_type), str(event.payload),
              bytes.ok() ? str(bytes.value()) : oaio_str{nullptr, 0});
      },
      so);
  if (!result.ok()) {
    log(OAIO_LOG_WARN, "subscribe " + std::string(event_type) + ": " + result.status().message());
    return plugin_code_for(result.status().code());
  }
  sub->subscription = std::move(result).value();
  std::lock_guard lock(mu_);
  std::uint64_t sid = next_id_++;
  subscribers_.emplace(sid, std::move(sub));
  if (id) *id = sid;
  return OAIO_OK;
}

oaio_status BridgeHost::unsubscribe(std::uint64_t id) {
  std::shared_ptr<Subscriber> sub;
  {
    std::lock_guard lock(mu_);
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) return OAIO_ERR_CLOSED;
    sub = std::move(it->second);
    subscribers_.erase(it);
  }
  std::lock_guard lock(sub->mu);  // waits for a delivery in progress on another thread
  sub->active = false;
  sub->subscription.unsubscribe();
  return OAIO_OK;
}

// ---- outgoing calls -------------------------------------------------------------

oaio_status BridgeHost::call_out(bool stream, std::string_view target, std::string_view payload,
                                 const oaio_call_opts* opts, oaio_frame_fn fn, void* user_data,
                                 std::uint64_t* call_id) {
  if (!fn) return OAIO_ERR_INVALID_REQUEST;
  Envelope req;
  req.payload = std::string(payload);
  CallOptions co;
  apply_opts(opts, req, co);
  CallRef parent;  // pinned while the call is made: co.parent points into it
  if (opts && OAIO_HAS_FIELD(opts, oaio_call_opts, parent) && opts->parent) {
    parent = call_table().get(opts->parent);
    if (parent) co.parent = parent->call.get();
  }
  auto out = std::make_shared<Outgoing>();
  std::uint64_t id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    outgoing_.emplace(id, out);
  }
  if (call_id) *call_id = id;
  // An error reported while the call is still being made is returned instead.
  auto sync = std::make_shared<std::pair<bool, Status>>(true, Status());
  auto finish = [this, id]() {
    std::lock_guard lock(mu_);
    outgoing_.erase(id);
  };
  // The callbacks hold the call weakly: outgoing_ owns it until it ends, so nothing
  // outlives the bridge and no cycle keeps it alive.
  std::weak_ptr<Outgoing> weak_out = out;
  auto deliver_error = [fn, user_data, weak_out, sync, finish](const Status& s) {
    auto call = weak_out.lock();
    if (!call) return;
    {
      std::lock_guard lock(call->mu);
      if (call->ended) return;
      call->ended = true;
      if (sync->first) {
        sync->second = s;
        finish();
        return;
      }
    }
    oaio_error e = empty_error();
    e.code = plugin_code_for(s.code());
    e.message = str(s.message());
    e.retryable = s.retryable() ? 1 : 0;
    fn(user_data, nullptr, &e);
    finish();
  };
  auto deliver_frame = [fn, user_data, weak_out, finish](const Envelope& env) -> bool {
    auto call = weak_out.lock();
    if (!call) return false;
    std::lock_guard lock(call->mu);  // frames of one call are serialised anyway
    if (call->ended) return false;
    auto bytes = encode_envelope(env);
    oaio_frame f{};
    f.struct_size = sizeof f;
    f.event_type = str(env.event_type);
    f.payload = str(env.payload);
    f.envelope = bytes.ok() ? str(bytes.value()) : oaio_str{nullptr, 0};
    f.seq = env.seq;
    f.is_final = env.is_final ? 1 : 0;
    bool keep = fn(user_data, &f, nullptr) == 0;
    if (env.is_final || !keep) {
      call->ended = true;
      finish();
    }
    return keep;
  };
  out->fail = deliver_error;
  if (stream) {
    out->cancel = options_.bus->stream_invoke_async(
        target, std::move(req), co, deliver_frame,
        [deliver_error](const Status& s) {
          if (!s.ok()) deliver_error(s);
        });
  } else {
    options_.bus->invoke_async(target, std::move(req), co, [deliver_frame, deliver_error](Result<Envelope> r) {
      if (r.ok()) {
        Envelope e = std::move(r).value();
        e.is_final = true;  // the one reply ends the call, whatever its type
        deliver_frame(e);
      } else {
        deliver_error(r.status());
      }
    });
  }
  {
    std::lock_guard lock(out->mu);
    sync->first = false;
  }
  if (!sync->second.ok()) return plugin_code_for(sync->second.code());
  return OAIO_OK;
}

oaio_status BridgeHost::cancel_call(std::uint64_t call_id) {
  std::shared_ptr<Outgoing> out;
  {
    std::lock_guard lock(mu_);
    auto it = outgoing_.find(call_id);
    if (it == outgoing_.end()) return OAIO_OK;  // idempotent: already ended
    out = it->second;
  }
  if (out->cancel) {
    out->cancel("cancelled by bridge");  // the stream's end callback reports it
  } else if (out->fail) {
    // An invoke cannot be recalled: report it cancelled now; the late reply is dropped.
    out->fail(Status::invalid("call cancelled by bridge"));
  }
  return OAIO_OK;
}

// ---- state, metrics, files ----------------------------------------------------------

void BridgeHost::report_state(int32_t state, std::string_view detail, std::uint32_t retry_after_ms) {
  if (options_.on_state) options_.on_state(state, std::string(detail), retry_after_ms);
}

oaio_status BridgeHost::metric_define(std::string_view name, int32_t kind, std::string_view help,
                                      std::uint32_t* metric) {
  if (!options_.metrics || kind < 0 || kind > 2) return OAIO_ERR_INVALID_REQUEST;
  std::string n(name);
  if (!options_.metrics->define(n, static_cast<MetricKind>(kind), std::string(help))) return OAIO_ERR_INVALID_REQUEST;
  std::lock_guard lock(mu_);
  std::uint32_t id = static_cast<std::uint32_t>(metrics_.size() + 1);
  metrics_.emplace(id, std::make_pair(n, kind));
  if (metric) *metric = id;
  return OAIO_OK;
}

void BridgeHost::metric_record(std::uint32_t metric, double value, std::string_view labels) {
  if (!options_.metrics) return;
  std::string name;
  {
    std::lock_guard lock(mu_);
    auto it = metrics_.find(metric);
    if (it == metrics_.end()) return;
    name = it->second.first;
  }
  std::map<std::string, std::string> l{{"bridge", options_.bridge_name}};
  if (!labels.empty()) {
    auto j = nlohmann::json::parse(labels, nullptr, false);
    if (j.is_object()) {
      for (auto& [k, v] : j.items())
        if (v.is_string() && k != "bridge") l[k] = v.get<std::string>();
    }
  }
  options_.metrics->record(name, value, l);
}

oaio_status BridgeHost::dead_letter(std::string_view envelope_json, std::string_view last_error) {
  auto envelope = decode_envelope(envelope_json);
  if (!envelope.ok()) {
    log(OAIO_LOG_WARN, "dead_letter: not an envelope: " + envelope.status().message());
    return OAIO_ERR_INVALID_REQUEST;
  }
  Status s = publish_dead_letter(*options_.bus, std::move(envelope).value(), last_error);
  if (!s.ok()) log(OAIO_LOG_WARN, "dead_letter: " + s.message());
  return plugin_code_for(s.code());
}

std::string_view BridgeHost::state_dir() {
  std::lock_guard lock(mu_);
  if (state_dir_.empty() && !options_.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options_.state_dir, ec);
    state_dir_ = options_.state_dir;
  }
  return state_dir_;
}

}  // namespace oaio::host
