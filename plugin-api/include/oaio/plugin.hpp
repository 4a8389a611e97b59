// oaio/plugin.hpp — a header-only C++17 helper over the plugin ABI (oaio/plugin.h).
// A plugin author writes a class derived from oaio::plugin::Bridge plus one line,
// OAIO_PLUGIN_ENTRY(Class); the helper builds the static oaio_plugin_api table, the
// hooks and the exported oaio_plugin_entry_v1, and wraps every hook in a catch-all so
// no exception ever crosses the ABI (it is logged through the host and becomes
// OAIO_ERR_INTERNAL with a message).
//
//   class Echo : public oaio::plugin::Bridge {
//    public:
//     static oaio::plugin::Info info() {            // all views static (literals)
//       oaio::plugin::Info i;
//       i.name = "echo"; i.version = "1.0.0"; i.flows = OAIO_FLOW_INVOKE;
//       return i;
//     }
//     Echo(oaio::plugin::Host& host, std::string_view config) : Bridge(host) {
//       oaio::plugin::Target t;
//       t.name = "echo"; t.flows = OAIO_FLOW_INVOKE;
//       if (auto s = host.register_target(t); s != OAIO_OK) throw oaio::plugin::Failure(s, "register");
//     }
//     oaio::plugin::Status call(oaio::plugin::Call call) override {
//       call.complete(call.info().payload);
//       return {};
//     }
//   };
//   OAIO_PLUGIN_ENTRY(Echo)
//
// Depends only on oaio/plugin.h and the C++ standard library. Every host API entry is
// checked with OAIO_HAS_FIELD (and for NULL) before use, so a plugin built with this
// header runs on any 1.x host: a missing entry makes the wrapper return
// OAIO_ERR_INCOMPATIBLE (or do nothing, for the void ones) instead of crashing.
//
// THREAD: hooks run as plugin.h says: lifecycle hooks (constructor, start, drain, stop,
// destructor) on the host's control thread one at a time; call and cancel on host
// workers, concurrently with each other and with the lifecycle hooks of a running
// bridge. Host and Call methods may be called from any thread.
#ifndef OAIO_PLUGIN_HPP_
#define OAIO_PLUGIN_HPP_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "oaio/plugin.h"

// True if the host table `api` provides entry `fn` (large enough and non-NULL).
#define OAIO_PLUGIN_HPP_HAS_FN(api, fn) (OAIO_HAS_FIELD((api), oaio_host_api, fn) && (api)->fn != nullptr)

namespace oaio::plugin {

// ---- views --------------------------------------------------------------------------

// OWNERSHIP: both borrow; the bytes belong to whoever passed them.
inline std::string_view view(oaio_str s) noexcept {
  return s.data != nullptr ? std::string_view(s.data, s.len) : std::string_view();
}
inline oaio_str str(std::string_view s) noexcept { return oaio_str{s.data(), s.size()}; }

// ---- Status ---------------------------------------------------------------------------

// The result of a hook: OK, or an oaio_status code with a message, a retryable flag
// (-1 = the code's default) and a retry-after hint for the caller or supervisor.
// OWNERSHIP: a value; owns its message. THREAD: a plain value.
class Status {
 public:
  Status() noexcept = default;  // OK
  Status(oaio_status code, std::string message, int32_t retryable = -1, uint32_t retry_after_ms = 0) noexcept
      : code_(code), message_(std::move(message)), retryable_(retryable), retry_after_ms_(retry_after_ms) {}

  static Status invalid(std::string m) { return Status(OAIO_ERR_INVALID_REQUEST, std::move(m)); }
  static Status unavailable(std::string m) { return Status(OAIO_ERR_AGENT_UNAVAILABLE, std::move(m)); }
  static Status internal(std::string m) { return Status(OAIO_ERR_INTERNAL, std::move(m)); }

  bool ok() const noexcept { return code_ == OAIO_OK; }
  oaio_status code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  int32_t retryable() const noexcept { return retryable_; }
  uint32_t retry_after_ms() const noexcept { return retry_after_ms_; }

 private:
  oaio_status code_ = OAIO_OK;
  std::string message_;
  int32_t retryable_ = -1;
  uint32_t retry_after_ms_ = 0;
};

// Thrown by a Bridge constructor (or any hook) to fail it with a chosen code and
// message instead of OAIO_ERR_INTERNAL, e.g. for a config the bridge cannot use.
// It never leaves the plugin: the hook wrappers catch it.
class Failure : public std::exception {
 public:
  explicit Failure(Status status) : status_(std::move(status)) {}
  Failure(oaio_status code, std::string message) : status_(code, std::move(message)) {}
  const char* what() const noexcept override { return status_.message().c_str(); }
  const Status& status() const noexcept { return status_; }

 private:
  Status status_;
};

// ---- inbound calls --------------------------------------------------------------------

// What the plugin learns about an inbound call (oaio_call_info as views).
// OWNERSHIP: the views belong to the host and stay valid until the call is completed.
struct CallInfo {
  oaio_status status = OAIO_ERR_CLOSED;  // OAIO_OK when the fields below are filled
  std::string_view target, payload, event_id, session_id, conversation_id, tenant_id, user_id, channel,
      trace_id, traceparent, metadata;
  bool is_stream = false;
  void* target_user_data = nullptr;
};

// A handle on one inbound call: a pair of pointers, cheap to copy.
// OWNERSHIP: borrows the host's oaio_call, which is valid from the call hook until the
// plugin completes it (complete or fail) and any concurrent cancel hook has returned.
// End every call exactly once, also after a cancel (the host then drops the reply);
// never use a Call after ending it.
// THREAD: any thread, including the plugin's own.
class Call {
 public:
  Call() noexcept = default;
  Call(const oaio_host_api* api, oaio_call* raw) noexcept : api_(api), raw_(raw) {}

  oaio_call* raw() const noexcept { return raw_; }
  explicit operator bool() const noexcept { return raw_ != nullptr; }
  bool operator==(const Call& o) const noexcept { return raw_ == o.raw_; }
  bool operator!=(const Call& o) const noexcept { return raw_ != o.raw_; }

  CallInfo info() const noexcept {
    CallInfo out;
    if (raw_ == nullptr || !OAIO_PLUGIN_HPP_HAS_FN(api_, call_info)) {
      out.status = raw_ == nullptr ? OAIO_ERR_CLOSED : OAIO_ERR_INCOMPATIBLE;
      return out;
    }
    oaio_call_info i;
    std::memset(&i, 0, sizeof i);
    i.struct_size = sizeof i;
    out.status = api_->call_info(raw_, &i);
    if (out.status != OAIO_OK) return out;
    out.target = view(i.target);
    out.payload = view(i.payload);
    out.event_id = view(i.event_id);
    out.session_id = view(i.session_id);
    out.conversation_id = view(i.conversation_id);
    out.tenant_id = view(i.tenant_id);
    out.user_id = view(i.user_id);
    out.channel = view(i.channel);
    out.trace_id = view(i.trace_id);
    out.traceparent = view(i.traceparent);
    out.metadata = view(i.metadata);
    out.is_stream = i.is_stream != 0;
    out.target_user_data = i.target_user_data;
    return out;
  }

  // Ends the call with the final reply `payload` (raw JSON; empty = none).
  oaio_status complete(std::string_view payload = {}) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, complete)) return OAIO_ERR_INCOMPATIBLE;
    return api_->complete(raw_, str(payload));
  }
  // Ends the call with an error reply. `code` must not be OAIO_OK.
  oaio_status fail(oaio_status code, std::string_view message, int32_t retryable = -1,
                   uint32_t retry_after_ms = 0) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, fail)) return OAIO_ERR_INCOMPATIBLE;
    oaio_error e;
    std::memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    e.code = code;
    e.message = str(message);
    e.retryable = retryable;
    e.retry_after_ms = retry_after_ms;
    return api_->fail(raw_, &e);
  }
  oaio_status fail(const Status& s) const noexcept {
    return fail(s.ok() ? OAIO_ERR_INTERNAL : s.code(), s.message(), s.retryable(), s.retry_after_ms());
  }
  // Stream frames, before complete/fail (accepted and not delivered to a non-stream caller).
  oaio_status started(std::string_view meta = {}) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, stream_started)) return OAIO_ERR_INCOMPATIBLE;
    return api_->stream_started(raw_, str(meta));
  }
  oaio_status delta(std::string_view payload) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, stream_delta)) return OAIO_ERR_INCOMPATIBLE;
    return api_->stream_delta(raw_, str(payload));
  }
  // `total` < 0 = unknown; `message` may be empty.
  oaio_status progress(double done, double total = -1, std::string_view message = {}) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, progress)) return OAIO_ERR_INCOMPATIBLE;
    return api_->progress(raw_, done, total, str(message));
  }

 private:
  const oaio_host_api* api_ = nullptr;
  oaio_call* raw_ = nullptr;
};

// ---- describing targets and outgoing calls ---------------------------------------------

// A target to register (oaio_target_desc). OWNERSHIP: borrowed for the call; the host copies.
struct Target {
  std::string_view name;
  uint32_t flows = OAIO_FLOW_INVOKE;
  std::string_view description;
  std::string_view input_schema;  // JSON Schema of the payload; empty = none
  void* user_data = nullptr;      // handed back in CallInfo::target_user_data
};

// Options of publish/invoke/stream (oaio_call_opts); all optional.
// OWNERSHIP: borrowed for the call. `parent` must be an open inbound call.
struct CallOptions {
  uint32_t timeout_ms = 0;  // 0 = host default
  std::string_view session_id, conversation_id, tenant_id, user_id, channel;
  std::string_view metadata;  // raw JSON object text merged into the request metadata
  Call parent;                // an inbound call whose context the request inherits
};

// One reply frame of an outgoing call. OWNERSHIP: views valid only during the callback.
struct Frame {
  std::string_view event_type, payload, envelope;
  uint64_t seq = 0;
  bool is_final = false;
};

// Callback of invoke/stream: a frame, or (frame == nullptr) a local failure in `error`.
// Return true to keep receiving, false to abandon. It is called no more after the
// terminal frame, an error, or a false return; then the helper frees it.
// THREAD: a host thread; must not block.
using FrameFn = std::function<bool(const Frame* frame, const Status* error)>;
// Callback of subscribe. THREAD: a host thread; one event at a time per subscription.
using EventFn = std::function<void(std::string_view event_type, std::string_view payload, std::string_view envelope)>;

enum class MetricKind : int32_t { kCounter = 0, kGauge = 1, kHistogram = 2 };

namespace detail {

// The host table handed to the entry; valid for the life of the process.
inline std::atomic<const oaio_host_api*> g_host_api{nullptr};

inline void log_line(const oaio_host_api* api, oaio_host* host, int32_t level, std::string_view m) noexcept {
  if (!OAIO_PLUGIN_HPP_HAS_FN(api, log)) return;
  if (OAIO_PLUGIN_HPP_HAS_FN(api, log_enabled) && api->log_enabled(host, level) == 0) return;
  api->log(host, level, str(m));
}

// Builds "<a><b>" without letting bad_alloc escape (then returns `a` alone, or nothing).
inline std::string join_noexcept(std::string_view a, std::string_view b) noexcept {
  try {
    std::string s(a);
    s.append(b);
    return s;
  } catch (...) {
    return std::string();
  }
}

// Host callbacks (subscriptions, outgoing calls) hold a token, not a pointer: a stray
// callback after its registration ended finds nothing instead of freed memory.
struct Callback {
  const void* owner = nullptr;  // the Host that registered it
  bool is_event = false;
  uint64_t host_id = 0;         // subscription id or call id, once known
  const oaio_host_api* api = nullptr;
  oaio_host* host = nullptr;
  EventFn on_event;
  FrameFn on_frame;
};

// THREAD: thread-safe; one per plugin library.
class Registry {
 public:
  uint64_t add(std::shared_ptr<Callback> cb) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t token = next_++;
    map_.emplace(token, std::move(cb));
    return token;
  }
  std::shared_ptr<Callback> find(uint64_t token) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(token);
    return it == map_.end() ? nullptr : it->second;
  }
  void set_host_id(uint64_t token, uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(token);
    if (it != map_.end()) it->second->host_id = id;
  }
  void remove(uint64_t token) {
    std::shared_ptr<Callback> dead;  // destroyed outside the lock
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(token);
    if (it == map_.end()) return;
    dead = std::move(it->second);
    map_.erase(it);
  }
  // Removes the owner's subscription `id`; false if there is none.
  bool remove_event(const void* owner, uint64_t id) {
    std::shared_ptr<Callback> dead;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = map_.begin(); it != map_.end(); ++it) {
      if (it->second->owner == owner && it->second->is_event && it->second->host_id == id) {
        dead = std::move(it->second);
        map_.erase(it);
        return true;
      }
    }
    return false;
  }
  // Copies of the owner's callbacks (to close them) or removes them all.
  std::vector<std::pair<uint64_t, std::shared_ptr<Callback>>> owned_by(const void* owner) {
    std::vector<std::pair<uint64_t, std::shared_ptr<Callback>>> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& kv : map_)
      if (kv.second->owner == owner) out.emplace_back(kv.first, kv.second);
    return out;
  }
  void remove_owned_by(const void* owner) {
    std::vector<std::shared_ptr<Callback>> dead;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = map_.begin(); it != map_.end();) {
      if (it->second->owner == owner) {
        dead.push_back(std::move(it->second));
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Callback>> map_;  // guarded by mu_
  uint64_t next_ = 1;                                            // guarded by mu_
};

// Never destroyed: a host thread may still deliver a callback while the process exits.
inline Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

inline void* token_ptr(uint64_t token) noexcept { return reinterpret_cast<void*>(static_cast<uintptr_t>(token)); }
inline uint64_t token_of(void* p) noexcept { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

inline void on_event(void* user_data, oaio_str event_type, oaio_str payload, oaio_str envelope) noexcept {
  std::shared_ptr<Callback> cb;
  try {
    cb = registry().find(token_of(user_data));
    if (!cb || !cb->on_event) return;
    cb->on_event(view(event_type), view(payload), view(envelope));
  } catch (const std::exception& e) {
    if (cb) log_line(cb->api, cb->host, OAIO_LOG_ERROR, join_noexcept("subscription callback threw: ", e.what()));
  } catch (...) {
    if (cb) log_line(cb->api, cb->host, OAIO_LOG_ERROR, "subscription callback threw a non-standard exception");
  }
}

inline int32_t on_frame(void* user_data, const oaio_frame* frame, const oaio_error* error) noexcept {
  uint64_t token = token_of(user_data);
  std::shared_ptr<Callback> cb;
  bool keep = false;
  bool terminal = true;
  try {
    cb = registry().find(token);
    if (!cb || !cb->on_frame) return 1;
    if (frame != nullptr) {
      oaio_frame f;  // zero-extended copy: fields the host does not have read as zero
      std::memset(&f, 0, sizeof f);
      std::memcpy(&f, frame, frame->struct_size < sizeof f ? frame->struct_size : sizeof f);
      Frame out;
      out.event_type = view(f.event_type);
      out.payload = view(f.payload);
      out.envelope = view(f.envelope);
      out.seq = f.seq;
      out.is_final = f.is_final != 0;
      terminal = out.is_final;
      keep = cb->on_frame(&out, nullptr);
    } else {
      Status s(OAIO_ERR_INTERNAL, "outgoing call failed");
      if (error != nullptr) {
        oaio_error e;
        std::memset(&e, 0, sizeof e);
        std::memcpy(&e, error, error->struct_size < sizeof e ? error->struct_size : sizeof e);
        s = Status(e.code == OAIO_OK ? OAIO_ERR_INTERNAL : e.code, std::string(view(e.message)), e.retryable,
                   e.retry_after_ms);
      }
      keep = false;
      cb->on_frame(nullptr, &s);
    }
  } catch (const std::exception& e) {
    keep = false;
    if (cb) log_line(cb->api, cb->host, OAIO_LOG_ERROR, join_noexcept("call callback threw: ", e.what()));
  } catch (...) {
    keep = false;
    if (cb) log_line(cb->api, cb->host, OAIO_LOG_ERROR, "call callback threw a non-standard exception");
  }
  if (terminal || !keep) {
    try {
      registry().remove(token);
    } catch (...) {
    }
    return 1;
  }
  return 0;
}

}  // namespace detail

// ---- Host -------------------------------------------------------------------------------

// The host context of one bridge instance: the oaio_host* plus the host's API table,
// with typed methods. Entries are checked (OAIO_HAS_FIELD, NULL) before use; a missing
// one returns OAIO_ERR_INCOMPATIBLE.
// OWNERSHIP: created by the helper for each instance, before the Bridge, and destroyed
// after it; the Bridge gets a reference. Owns the std::function callbacks of its
// subscriptions and outgoing calls. Views it returns are valid while the instance is.
// THREAD: every method may be called from any thread.
class Host {
 public:
  Host(oaio_host* host, const oaio_host_api* api) noexcept : host_(host), api_(api) {}
  ~Host() {
    try {
      detail::registry().remove_owned_by(this);
    } catch (...) {
    }
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  oaio_host* raw() const noexcept { return host_; }
  const oaio_host_api* api() const noexcept { return api_; }
  uint32_t abi_minor() const noexcept { return api_ != nullptr ? api_->abi_minor : 0; }
  Call call(oaio_call* raw) const noexcept { return Call(api_, raw); }

  // Logging. Never log secrets. log() checks log_enabled itself; call log_enabled()
  // first only to skip building an expensive message.
  bool log_enabled(int32_t level) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, log)) return false;
    return !OAIO_PLUGIN_HPP_HAS_FN(api_, log_enabled) || api_->log_enabled(host_, level) != 0;
  }
  void log(int32_t level, std::string_view message) const noexcept { detail::log_line(api_, host_, level, message); }
  void debug(std::string_view m) const noexcept { log(OAIO_LOG_DEBUG, m); }
  void info(std::string_view m) const noexcept { log(OAIO_LOG_INFO, m); }
  void warn(std::string_view m) const noexcept { log(OAIO_LOG_WARN, m); }
  void error(std::string_view m) const noexcept { log(OAIO_LOG_ERROR, m); }

  // The bridge's name from its manifest.
  std::string_view bridge_name() const noexcept {
    return OAIO_PLUGIN_HPP_HAS_FN(api_, bridge_name) ? view(api_->bridge_name(host_)) : std::string_view();
  }
  // A directory for state kept across restarts; empty if the host has none.
  std::string_view state_dir() const noexcept {
    return OAIO_PLUGIN_HPP_HAS_FN(api_, state_dir) ? view(api_->state_dir(host_)) : std::string_view();
  }

  oaio_status register_target(const Target& t) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, register_target)) return OAIO_ERR_INCOMPATIBLE;
    oaio_target_desc d;
    std::memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.name = str(t.name);
    d.flows = t.flows;
    d.description = str(t.description);
    d.input_schema = str(t.input_schema);
    d.user_data = t.user_data;
    return api_->register_target(host_, &d);
  }
  oaio_status unregister_target(std::string_view name) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, unregister_target)) return OAIO_ERR_INCOMPATIBLE;
    return api_->unregister_target(host_, str(name));
  }

  oaio_status publish(std::string_view event_type, std::string_view payload,
                      const CallOptions& opts = CallOptions()) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, publish)) return OAIO_ERR_INCOMPATIBLE;
    oaio_call_opts o = to_c(opts);
    return api_->publish(host_, str(event_type), str(payload), &o);
  }

  // Dead-letters `envelope` (JSON text of an envelope, e.g. the one a subscription
  // callback got) to the bus's dead-letter subject with `last_error` (host_api.dead_letter,
  // SINCE 1.1). OAIO_ERR_INCOMPATIBLE from a 1.0 host: has_dead_letter() tells first.
  bool has_dead_letter() const noexcept { return OAIO_PLUGIN_HPP_HAS_FN(api_, dead_letter); }
  oaio_status dead_letter(std::string_view envelope, std::string_view last_error) const noexcept {
    if (!has_dead_letter()) return OAIO_ERR_INCOMPATIBLE;
    return api_->dead_letter(host_, str(envelope), str(last_error));
  }

  // Subscribes `fn` to `event_type` (`queue` empty = every replica gets every event).
  // `fn` runs until unsubscribe() returns, or until the bridge stops (the helper
  // unsubscribes what is left after Bridge::stop()).
  oaio_status subscribe(std::string_view event_type, std::string_view queue, EventFn fn,
                        uint64_t* subscription = nullptr) noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, subscribe) || !OAIO_PLUGIN_HPP_HAS_FN(api_, unsubscribe))
      return OAIO_ERR_INCOMPATIBLE;
    try {
      auto cb = std::make_shared<detail::Callback>();
      cb->owner = this;
      cb->is_event = true;
      cb->api = api_;
      cb->host = host_;
      cb->on_event = std::move(fn);
      uint64_t token = detail::registry().add(cb);
      uint64_t id = 0;
      oaio_status s =
          api_->subscribe(host_, str(event_type), str(queue), &detail::on_event, detail::token_ptr(token), &id);
      if (s != OAIO_OK) {
        detail::registry().remove(token);
        return s;
      }
      detail::registry().set_host_id(token, id);
      if (subscription != nullptr) *subscription = id;
      return OAIO_OK;
    } catch (...) {
      return OAIO_ERR_INTERNAL;
    }
  }
  oaio_status unsubscribe(uint64_t subscription) noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, unsubscribe)) return OAIO_ERR_INCOMPATIBLE;
    oaio_status s = api_->unsubscribe(host_, subscription);
    try {
      detail::registry().remove_event(this, subscription);
    } catch (...) {
    }
    return s;
  }

  // Calls another target on the bus; `fn` gets the reply frame(s) (see FrameFn). On a
  // non-OK return nothing was sent and `fn` is never called. `call_id` (may be null)
  // receives the id for cancel_call.
  oaio_status invoke(std::string_view target, std::string_view payload, FrameFn fn,
                     const CallOptions& opts = CallOptions(), uint64_t* call_id = nullptr) noexcept {
    return call_out(false, target, payload, std::move(fn), opts, call_id);
  }
  oaio_status stream(std::string_view target, std::string_view payload, FrameFn fn,
                     const CallOptions& opts = CallOptions(), uint64_t* call_id = nullptr) noexcept {
    return call_out(true, target, payload, std::move(fn), opts, call_id);
  }
  // Abandons an outgoing call; idempotent.
  oaio_status cancel_call(uint64_t call_id) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, cancel_call)) return OAIO_ERR_INCOMPATIBLE;
    return api_->cancel_call(host_, call_id);
  }

  // OAIO_STATE_RUNNING / DEGRADED / FAILED, with a detail for /readyz.
  void report_state(int32_t state, std::string_view detail = {}, uint32_t retry_after_ms = 0) const noexcept {
    if (OAIO_PLUGIN_HPP_HAS_FN(api_, report_state)) api_->report_state(host_, state, str(detail), retry_after_ms);
  }

  oaio_status metric_define(std::string_view name, MetricKind kind, std::string_view help,
                            uint32_t* metric) const noexcept {
    if (!OAIO_PLUGIN_HPP_HAS_FN(api_, metric_define)) return OAIO_ERR_INCOMPATIBLE;
    return api_->metric_define(host_, str(name), static_cast<int32_t>(kind), str(help), metric);
  }
  // `labels`: a JSON object of string values, or empty.
  void metric_record(uint32_t metric, double value, std::string_view labels = {}) const noexcept {
    if (OAIO_PLUGIN_HPP_HAS_FN(api_, metric_record)) api_->metric_record(host_, metric, value, str(labels));
  }

  // Unsubscribes what is left and cancels outgoing calls still open. The helper calls
  // it after Bridge::stop() returns; a bridge may call it earlier.
  void close() noexcept {
    try {
      for (auto& kv : detail::registry().owned_by(this)) {
        if (kv.second->is_event) {
          if (OAIO_PLUGIN_HPP_HAS_FN(api_, unsubscribe)) api_->unsubscribe(host_, kv.second->host_id);
          detail::registry().remove(kv.first);
        } else if (kv.second->host_id != 0 && OAIO_PLUGIN_HPP_HAS_FN(api_, cancel_call)) {
          api_->cancel_call(host_, kv.second->host_id);
        }
      }
    } catch (...) {
    }
  }

 private:
  static oaio_call_opts to_c(const CallOptions& o) noexcept {
    oaio_call_opts c;
    std::memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.timeout_ms = o.timeout_ms;
    c.session_id = str(o.session_id);
    c.conversation_id = str(o.conversation_id);
    c.tenant_id = str(o.tenant_id);
    c.user_id = str(o.user_id);
    c.channel = str(o.channel);
    c.metadata = str(o.metadata);
    c.parent = o.parent.raw();
    return c;
  }

  oaio_status call_out(bool is_stream, std::string_view target, std::string_view payload, FrameFn fn,
                       const CallOptions& opts, uint64_t* call_id) noexcept {
    if (is_stream ? !OAIO_PLUGIN_HPP_HAS_FN(api_, stream) : !OAIO_PLUGIN_HPP_HAS_FN(api_, invoke))
      return OAIO_ERR_INCOMPATIBLE;
    if (!fn) return OAIO_ERR_INVALID_REQUEST;
    try {
      auto cb = std::make_shared<detail::Callback>();
      cb->owner = this;
      cb->api = api_;
      cb->host = host_;
      cb->on_frame = std::move(fn);
      uint64_t token = detail::registry().add(cb);
      oaio_call_opts o = to_c(opts);
      uint64_t id = 0;
      auto f = is_stream ? api_->stream : api_->invoke;
      oaio_status s = f(host_, str(target), str(payload), &o, &detail::on_frame, detail::token_ptr(token), &id);
      if (s != OAIO_OK) {
        detail::registry().remove(token);
        return s;
      }
      detail::registry().set_host_id(token, id);  // a no-op if the call already ended
      if (call_id != nullptr) *call_id = id;
      return OAIO_OK;
    } catch (...) {
      return OAIO_ERR_INTERNAL;
    }
  }

  oaio_host* const host_;
  const oaio_host_api* const api_;
};

// ---- Bridge ------------------------------------------------------------------------------

// Describe information of a plugin (the oaio_plugin_api describe fields).
// REQUIRES: every view is static (string literals): the table keeps them for the life
// of the process.
struct Info {
  std::string_view name;            // unique among loaded plugins
  std::string_view version;         // the plugin's own version
  std::string_view description;     // one line
  uint32_t flows = 0;               // OAIO_FLOW_*
  uint32_t features = 0;            // OAIO_FEATURE_*
  std::string_view config_schema;   // JSON Schema of the bridge config
  std::string_view manifest_types;  // comma-separated seed bridge types; may be empty
  uint32_t abi_minor = 0;           // the minor the plugin needs; raise only when it cannot do without
};

// The base class of a bridge: one instance per bridge of the manifest. The derived
// class is constructed as Derived(Host& host, std::string_view config) with the
// validated config JSON (the view is valid during the constructor only); it may
// register targets there and throw Failure to refuse the config.
// OWNERSHIP: owned by the helper; destroyed in the destroy hook, before its Host.
// THREAD: constructor, start, drain, stop and the destructor run on the host's control
// thread, one at a time. call and cancel run on host workers, concurrently, also while
// start/drain/stop run: make them thread-safe. Anything a hook throws is caught, logged
// and reported as OAIO_ERR_INTERNAL (or the Failure's status).
class Bridge {
 public:
  explicit Bridge(Host& host) noexcept : host_(host) {}
  virtual ~Bridge() = default;
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  Host& host() const noexcept { return host_; }

  // Starts serving (connect upstream, start threads).
  virtual Status start() { return Status(); }
  // Stops taking new work and finishes what is in flight within `deadline_ms`.
  virtual Status drain(uint32_t deadline_ms) {
    (void)deadline_ms;
    return Status();
  }
  // Stops: join threads, end calls still open. No host calls after it returns.
  virtual void stop() {}
  // An inbound call. End it now or later, from any thread, exactly once. Return a
  // non-OK Status only when the call was not ended: the host then fails it with that
  // error (returning an error after ending it would be a second ending).
  virtual Status call(Call call) = 0;
  // The caller went away. Idempotent; may race with the bridge ending the call itself.
  virtual void cancel(Call call) { (void)call; }

 protected:
  // For drain(): waits on `cv`, with `lock` held, until `idle()` is true or
  // `deadline_ms` has passed. Returns OK when idle, else AGENT_TIMEOUT whose detail is
  // `still_open()` (e.g. "sse: 3 streams still open"). Whoever makes idle() true must
  // notify `cv`.
  template <class Idle, class StillOpen>
  static Status wait_until_idle(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                                uint32_t deadline_ms, Idle idle, StillOpen still_open) {
    if (cv.wait_for(lock, std::chrono::milliseconds(deadline_ms), idle)) return Status();
    return Status(OAIO_ERR_AGENT_TIMEOUT, still_open());
  }

 private:
  Host& host_;
};

namespace detail {

// The message of the last hook error on this thread: an oaio_error's message must stay
// valid until the hook returns, and hooks of different calls run concurrently.
inline thread_local std::string t_error_message;

inline void fill_error(oaio_error* error, const Status& s) noexcept {
  if (error == nullptr) return;
  try {
    t_error_message = s.message();
  } catch (...) {
    t_error_message.clear();
  }
  if (OAIO_HAS_FIELD(error, oaio_error, code)) error->code = s.ok() ? OAIO_ERR_INTERNAL : s.code();
  if (OAIO_HAS_FIELD(error, oaio_error, message)) error->message = str(t_error_message);
  if (OAIO_HAS_FIELD(error, oaio_error, retryable)) error->retryable = s.retryable();
  if (OAIO_HAS_FIELD(error, oaio_error, retry_after_ms)) error->retry_after_ms = s.retry_after_ms();
}

// Runs `f` (returning Status); converts anything thrown into a Status and logs it.
template <typename F>
Status guard(const oaio_host_api* api, oaio_host* host, const char* hook, F&& f) noexcept {
  try {
    return f();
  } catch (const Failure& e) {
    try {
      return e.status();
    } catch (...) {
      return Status(e.status().code(), std::string());
    }
  } catch (const std::exception& e) {
    std::string m = join_noexcept(join_noexcept(hook, ": exception: "), e.what());
    log_line(api, host, OAIO_LOG_ERROR, m);
    return Status(OAIO_ERR_INTERNAL, std::move(m));
  } catch (...) {
    std::string m = join_noexcept(hook, ": non-standard exception");
    log_line(api, host, OAIO_LOG_ERROR, m);
    return Status(OAIO_ERR_INTERNAL, std::move(m));
  }
}

template <typename T>
struct Glue {
  // OWNERSHIP: heap-allocated by create, freed by destroy. Members are destroyed
  // bottom-up: the bridge before the Host it references.
  struct Instance {
    Instance(oaio_host* h, const oaio_host_api* a) noexcept : host(h, a) {}
    Host host;
    std::unique_ptr<T> bridge;
  };
  static Instance* of(void* p) noexcept { return static_cast<Instance*>(p); }

  static oaio_status create(oaio_host* h, oaio_str config, void** instance, oaio_error* error) noexcept {
    const oaio_host_api* api = g_host_api.load();
    std::unique_ptr<Instance> inst;
    Status s = guard(api, h, "create", [&]() -> Status {
      if (instance == nullptr) return Status::invalid("create: no instance pointer");
      inst = std::make_unique<Instance>(h, api);
      inst->bridge = std::make_unique<T>(inst->host, view(config));
      return Status();
    });
    if (!s.ok()) {
      if (inst) inst->host.close();  // what a failed constructor subscribed or called
      inst.reset();
      fill_error(error, s);
      return s.code();
    }
    *instance = inst.release();
    return OAIO_OK;
  }
  static oaio_status start(void* p, oaio_error* error) noexcept {
    Instance* i = of(p);
    Status s = guard(i->host.api(), i->host.raw(), "start", [&] { return i->bridge->start(); });
    if (s.ok()) return OAIO_OK;
    fill_error(error, s);
    return s.code();
  }
  static oaio_status drain(void* p, uint32_t deadline_ms) noexcept {
    Instance* i = of(p);
    Status s = guard(i->host.api(), i->host.raw(), "drain", [&] { return i->bridge->drain(deadline_ms); });
    if (!s.ok() && !s.message().empty()) i->host.warn(join_noexcept("drain: ", s.message()));
    return s.code();
  }
  static void stop(void* p) noexcept {
    Instance* i = of(p);
    (void)guard(i->host.api(), i->host.raw(), "stop", [&] {
      i->bridge->stop();
      return Status();
    });
    i->host.close();
  }
  static void destroy(void* p) noexcept {
    Instance* i = of(p);
    (void)guard(i->host.api(), i->host.raw(), "destroy", [&] {
      i->bridge.reset();
      return Status();
    });
    delete i;
  }
  static oaio_status call(void* p, oaio_call* c, oaio_error* error) noexcept {
    Instance* i = of(p);
    Status s = guard(i->host.api(), i->host.raw(), "call", [&] { return i->bridge->call(i->host.call(c)); });
    if (s.ok()) return OAIO_OK;
    fill_error(error, s);
    return s.code();
  }
  static void cancel(void* p, oaio_call* c) noexcept {
    Instance* i = of(p);
    (void)guard(i->host.api(), i->host.raw(), "cancel", [&] {
      i->bridge->cancel(i->host.call(c));
      return Status();
    });
  }

  static oaio_plugin_api make_table() {
    Info info = T::info();
    oaio_plugin_api t;
    std::memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.abi_major = OAIO_PLUGIN_ABI_MAJOR;
    t.abi_minor = info.abi_minor;
    t.name = str(info.name);
    t.version = str(info.version);
    t.description = str(info.description);
    t.flows = info.flows;
    t.features = info.features;
    t.config_schema = str(info.config_schema);
    t.manifest_types = str(info.manifest_types);
    t.create = &Glue::create;
    t.start = &Glue::start;
    t.drain = &Glue::drain;
    t.stop = &Glue::stop;
    t.destroy = &Glue::destroy;
    t.call = &Glue::call;
    t.cancel = &Glue::cancel;
    return t;
  }
};

// The body of oaio_plugin_entry_v1 for bridge class T. Returns the static table (the
// host refuses it if it needs a newer minor than the host has), or NULL after logging.
template <typename T>
const oaio_plugin_api* entry(const oaio_host_api* api, uint32_t host_abi_minor) noexcept {
  (void)host_abi_minor;
  if (api == nullptr) return nullptr;
  if (api->abi_major != OAIO_PLUGIN_ABI_MAJOR) {
    log_line(api, nullptr, OAIO_LOG_ERROR, "plugin built for ABI major 1: host has another major");
    return nullptr;
  }
  g_host_api.store(api);
  try {
    static const oaio_plugin_api table = Glue<T>::make_table();
    return &table;
  } catch (const std::exception& e) {
    log_line(api, nullptr, OAIO_LOG_ERROR, join_noexcept("plugin entry: exception: ", e.what()));
  } catch (...) {
    log_line(api, nullptr, OAIO_LOG_ERROR, "plugin entry: non-standard exception");
  }
  return nullptr;
}

}  // namespace detail
}  // namespace oaio::plugin

// Defines the exported entry symbol for bridge class `BridgeClass` (use once, at global
// scope, in one source file of the plugin). BridgeClass needs
// `static oaio::plugin::Info info()` and a constructor (oaio::plugin::Host&, std::string_view).
#define OAIO_PLUGIN_ENTRY(BridgeClass)                                                               \
  extern "C" OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* host_api, \
                                                                            uint32_t host_abi_minor) {     \
    return ::oaio::plugin::detail::entry<BridgeClass>(host_api, host_abi_minor);                            \
  }

#endif  // OAIO_PLUGIN_HPP_
