// A fake host for driving plugins through the raw C ABI, without the real host:
// one process-wide oaio_host_api table whose entries record what a plugin does.
//   - FakeHost is what a plugin instance sees as its oaio_host* (targets, bridge name);
//   - FakeCall is what it sees as an oaio_call* (info in, frames and the ending out);
//   - log lines of every plugin go to fake_log().
// Entries a test does not need (publish, metrics, ...) are NULL, as a host may leave
// them; invoke answers synchronously with one final frame echoing the request payload,
// subscribe records the callback so a test can deliver events.
//
// Thread-safety: every entry may be called from any thread (plugins complete calls
// from their own threads); each object guards its state with its own mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "oaio/plugin.h"

namespace oaio::test {

inline std::string_view sv(oaio_str s) { return s.data ? std::string_view(s.data, s.len) : std::string_view(); }
inline oaio_str os(std::string_view s) { return oaio_str{s.data(), s.size()}; }

// Every log line any plugin wrote: "<level> <message>".
class FakeLog {
 public:
  void add(int32_t level, std::string_view m) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(std::to_string(level) + " " + std::string(m));
  }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  std::size_t count(std::string_view needle) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& l : lines_) n += l.find(needle) != std::string::npos;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;  // guarded by mu_
};

inline FakeLog& fake_log() {
  static FakeLog* log = new FakeLog;
  return *log;
}

// One bridge instance's host side.
struct FakeHost {
  struct Target {
    std::string name, description, input_schema;
    uint32_t flows = 0;
    void* user_data = nullptr;
  };
  struct Sub {
    std::string event_type;
    oaio_event_fn fn = nullptr;
    void* user_data = nullptr;
    bool active = true;
  };

  std::string bridge = "test-bridge";
  mutable std::mutex mu;
  std::vector<Target> targets;  // guarded by mu
  std::vector<Sub> subs;        // guarded by mu; id = index + 1

  oaio_host* handle() { return reinterpret_cast<oaio_host*>(this); }
  static FakeHost* from(oaio_host* h) { return reinterpret_cast<FakeHost*>(h); }

  std::vector<Target> target_list() const {
    std::lock_guard<std::mutex> lock(mu);
    return targets;
  }
  // Delivers an event to every active subscription of `type`; returns how many got it.
  int deliver(std::string_view type, std::string_view payload) {
    std::vector<Sub> now;
    {
      std::lock_guard<std::mutex> lock(mu);
      now = subs;
    }
    int n = 0;
    for (const Sub& s : now)
      if (s.active && s.event_type == type) {
        s.fn(s.user_data, os(type), os(payload), os("{}"));
        ++n;
      }
    return n;
  }
  int active_subscriptions() const {
    std::lock_guard<std::mutex> lock(mu);
    int n = 0;
    for (const Sub& s : subs) n += s.active;
    return n;
  }
};

// One inbound call. The host's rules: exactly one ending (complete/fail) is accepted,
// later ones get OAIO_ERR_CLOSED; an ending after cancel is accepted and marked dropped.
struct FakeCall {
  FakeCall(std::string target_name, std::string body, bool stream, void* target_data = nullptr)
      : target(std::move(target_name)), payload(std::move(body)), is_stream(stream), user_data(target_data) {}

  const std::string target, payload;
  const bool is_stream;
  void* const user_data;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> frames;  // "started <meta>", "delta <json>", "complete <json>", "fail <code> <message>"
  bool ended = false;               // guarded by mu
  bool cancelled = false;           // guarded by mu
  bool dropped = false;             // ended after cancel; guarded by mu
  int late = 0;                     // endings or frames after the end; guarded by mu
  int32_t retryable = -2;           // of the fail; guarded by mu
  uint32_t retry_after_ms = 0;      // of the fail; guarded by mu
  std::thread::id ended_on;         // guarded by mu

  oaio_call* handle() { return reinterpret_cast<oaio_call*>(this); }
  static FakeCall* from(oaio_call* c) { return reinterpret_cast<FakeCall*>(c); }

  void cancel() {
    std::lock_guard<std::mutex> lock(mu);
    cancelled = true;
  }
  bool wait_ended(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [this] { return ended; });
  }
  std::vector<std::string> frame_list() const {
    std::lock_guard<std::mutex> lock(mu);
    return frames;
  }
  std::string last() const {
    std::lock_guard<std::mutex> lock(mu);
    return frames.empty() ? std::string() : frames.back();
  }

  oaio_status frame(std::string text) {
    std::lock_guard<std::mutex> lock(mu);
    if (ended) {
      ++late;
      return OAIO_ERR_CLOSED;
    }
    frames.push_back(std::move(text));
    return OAIO_OK;
  }
  oaio_status end(std::string text, int32_t retry = -2, uint32_t after = 0) {
    std::lock_guard<std::mutex> lock(mu);
    if (ended) {
      ++late;
      return OAIO_ERR_CLOSED;
    }
    frames.push_back(std::move(text));
    ended = true;
    dropped = cancelled;
    retryable = retry;
    retry_after_ms = after;
    ended_on = std::this_thread::get_id();
    cv.notify_all();
    return OAIO_OK;
  }
};

namespace fake_detail {

inline int32_t log_enabled(oaio_host*, int32_t) { return 1; }
inline void log(oaio_host*, int32_t level, oaio_str m) { fake_log().add(level, sv(m)); }
inline oaio_str bridge_name(oaio_host* h) { return os(FakeHost::from(h)->bridge); }
inline oaio_status register_target(oaio_host* h, const oaio_target_desc* d) {
  if (d == nullptr || d->name.len == 0) return OAIO_ERR_INVALID_REQUEST;
  FakeHost::Target t;
  t.name = std::string(sv(d->name));
  t.flows = d->flows;
  t.description = std::string(sv(d->description));
  t.input_schema = std::string(sv(d->input_schema));
  t.user_data = d->user_data;
  FakeHost* host = FakeHost::from(h);
  std::lock_guard<std::mutex> lock(host->mu);
  host->targets.push_back(std::move(t));
  return OAIO_OK;
}
inline oaio_status call_info(oaio_call* c, oaio_call_info* info) {
  FakeCall* call = FakeCall::from(c);
  oaio_call_info i{};
  i.struct_size = sizeof i;
  i.target = os(call->target);
  i.payload = os(call->payload);
  i.event_id = os("evt-1");
  i.is_stream = call->is_stream ? 1 : 0;
  i.target_user_data = call->user_data;
  uint32_t size = info->struct_size < sizeof i ? info->struct_size : static_cast<uint32_t>(sizeof i);
  std::memcpy(reinterpret_cast<char*>(info) + sizeof(uint32_t), reinterpret_cast<char*>(&i) + sizeof(uint32_t),
              size - sizeof(uint32_t));
  return OAIO_OK;
}
inline oaio_status complete(oaio_call* c, oaio_str payload) {
  return FakeCall::from(c)->end("complete " + std::string(sv(payload)));
}
inline oaio_status fail(oaio_call* c, const oaio_error* e) {
  return FakeCall::from(c)->end("fail " + std::to_string(e->code) + " " + std::string(sv(e->message)), e->retryable,
                                e->retry_after_ms);
}
inline oaio_status stream_started(oaio_call* c, oaio_str meta) {
  return FakeCall::from(c)->frame("started " + std::string(sv(meta)));
}
inline oaio_status stream_delta(oaio_call* c, oaio_str payload) {
  return FakeCall::from(c)->frame("delta " + std::string(sv(payload)));
}
inline oaio_status subscribe(oaio_host* h, oaio_str type, oaio_str, oaio_event_fn fn, void* user_data, uint64_t* id) {
  FakeHost* host = FakeHost::from(h);
  std::lock_guard<std::mutex> lock(host->mu);
  host->subs.push_back(FakeHost::Sub{std::string(sv(type)), fn, user_data, true});
  *id = host->subs.size();
  return OAIO_OK;
}
inline oaio_status unsubscribe(oaio_host* h, uint64_t id) {
  FakeHost* host = FakeHost::from(h);
  std::lock_guard<std::mutex> lock(host->mu);
  if (id == 0 || id > host->subs.size()) return OAIO_ERR_INVALID_REQUEST;
  host->subs[id - 1].active = false;
  return OAIO_OK;
}
// Answers at once, before returning, with one final frame echoing the payload.
inline oaio_status invoke(oaio_host*, oaio_str, oaio_str payload, const oaio_call_opts*, oaio_frame_fn fn,
                          void* user_data, uint64_t* call_id) {
  if (call_id) *call_id = 7;
  oaio_frame f{};
  f.struct_size = sizeof f;
  f.event_type = os("agent.response.final");
  f.payload = payload;
  f.is_final = 1;
  fn(user_data, &f, nullptr);
  return OAIO_OK;
}

}  // namespace fake_detail

// The table, valid for the life of the process (plugins keep it).
inline const oaio_host_api* fake_host_api() {
  static const oaio_host_api* api = [] {
    auto* t = new oaio_host_api{};
    t->struct_size = sizeof(oaio_host_api);
    t->abi_major = OAIO_PLUGIN_ABI_MAJOR;
    t->abi_minor = OAIO_PLUGIN_ABI_MINOR;
    t->log_enabled = fake_detail::log_enabled;
    t->log = fake_detail::log;
    t->bridge_name = fake_detail::bridge_name;
    t->register_target = fake_detail::register_target;
    t->call_info = fake_detail::call_info;
    t->complete = fake_detail::complete;
    t->fail = fake_detail::fail;
    t->stream_started = fake_detail::stream_started;
    t->stream_delta = fake_detail::stream_delta;
    t->subscribe = fake_detail::subscribe;
    t->unsubscribe = fake_detail::unsubscribe;
    t->invoke = fake_detail::invoke;
    return t;
  }();
  return api;
}

// Paths of the plugins the build makes.
inline std::string test_plugin_path(const std::string& name) {
  return std::string(OAIO_BINARY_DIR) + "/test-plugins/" + name + "/" + name + ".so";
}
inline std::string example_plugin_path(const std::string& name) {
  return std::string(OAIO_BINARY_DIR) + "/plugins/" + name + ".so";
}

}  // namespace oaio::test
