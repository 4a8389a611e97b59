// sse: the SSE bridge plugin. Each configured chat endpoint (or the seed's
// openclaw_chat_sse config) becomes an Invoke + StreamInvoke target answered from an
// OpenAI-compatible streaming /chat/completions; each configured source is an SSE
// stream whose events are published on the bus. All HTTP runs on one CurlLoop thread.
// bridges/sse/README.md is the user documentation.
//
// THREAD: constructor/start/drain/stop on the host's control thread; call/cancel on
// host workers (they only queue work to the loop); replies go out from the loop thread.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat_request.h"
#include "chat_task.h"
#include "config.h"
#include "curl_loop.h"
#include "oaio/plugin.hpp"
#include "source_task.h"

namespace {

using oaio::plugin::Bridge;
using oaio::plugin::Call;
using oaio::plugin::Failure;
using oaio::plugin::Host;
using oaio::plugin::Info;
using oaio::plugin::Status;
using namespace oaio::sse;

constexpr char kInputSchema[] =
    R"({"type":"object","properties":{"text":{"type":"string","description":"one user turn"},)"
    R"("messages":{"type":"array","items":{"type":"object"}},"temperature":{"type":"number"},)"
    R"("max_tokens":{"type":"integer"},"tools":{"type":"array"},"stop":{}}})";

class SseBridge : public Bridge {
 public:
  static Info info() {
    Info i;
    i.name = "sse";
    i.version = "1.0.0";
    i.description = "OpenAI-compatible streaming chat endpoints as targets; SSE streams as event sources";
    i.flows = OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM | OAIO_FLOW_PUBLISH;
    i.features = OAIO_FEATURE_CANCEL | OAIO_FEATURE_NONBLOCKING_CALL;  // call() hands off to the curl loop
    i.config_schema = config_schema();
    i.manifest_types = "openclaw_chat_sse";
    return i;
  }

  SseBridge(Host& host, std::string_view config) : Bridge(host) {
    if (Status s = parse_config(config, host.bridge_name(), &config_); !s.ok()) throw Failure(s);
    secrets_ = config_secrets(config_);
    for (EndpointConfig& ep : config_.endpoints) {
      oaio::plugin::Target t;
      t.name = ep.target;
      t.flows = OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM;
      t.description = ep.description.empty() ? std::string_view("OpenAI-compatible chat stream") : ep.description;
      t.input_schema = kInputSchema;
      t.user_data = &ep;
      if (oaio_status s = host.register_target(t); s != OAIO_OK)
        throw Failure(s, "sse: cannot register target '" + ep.target + "'");
    }
  }

  ~SseBridge() override { stop(); }

  Status start() override {
    if (!loop_.start()) return Status::internal("sse: libcurl could not be initialised");
    for (const SourceConfig& src : config_.sources) {
      std::string name = src.name;
      auto task = std::make_shared<SourceTask>(
          loop_, src, config_.max_event_bytes, secrets_,
          [this](const std::string& type, const std::string& payload) { host().publish(type, payload); },
          [this, name](bool connected, const std::string& detail, std::uint32_t retry_ms) {
            source_state(name, connected, detail, retry_ms);
          });
      sources_.push_back(task);
      task->launch();
    }
    return Status();
  }

  Status drain(std::uint32_t deadline_ms) override {
    std::unique_lock<std::mutex> lock(mu_);
    draining_ = true;
    return wait_until_idle(lock, cv_, deadline_ms, [this] { return open_.empty(); },
                           [this] { return "sse: " + std::to_string(open_.size()) + " streams still open"; });
  }

  void stop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      draining_ = true;
    }
    for (auto& s : sources_) s->stop();
    loop_.stop();  // every open call is answered AGENT_UNAVAILABLE "bridge stopped"
    sources_.clear();
  }

  Status call(Call call) override {
    oaio::plugin::CallInfo info = call.info();
    if (info.status != OAIO_OK) return Status::internal("sse: call_info failed");
    auto* ep = static_cast<const EndpointConfig*>(info.target_user_data);
    if (ep == nullptr) return Status(OAIO_ERR_NO_HANDLER, "sse: unknown target");
    ChatRequest request;
    if (Status s = build_chat_request(*ep, CallContext{info.payload, info.session_id, info.metadata}, &request); !s.ok())
      return s;
    ChatTaskOptions options;
    options.endpoint = ep;
    options.errors = ErrorContext{"sse '" + ep->target + "': ", secrets_};
    options.max_event_bytes = config_.max_event_bytes;
    options.deliver_frames = info.is_stream;
    oaio_call* key = call.raw();
    std::shared_ptr<ChatTask> task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (draining_) return Status(OAIO_ERR_AGENT_UNAVAILABLE, "sse: bridge is draining", 1);
      if (open_.size() >= config_.max_streams)
        return Status(OAIO_ERR_BACKPRESSURE, "sse: " + std::to_string(open_.size()) + " streams open (max_streams)", 1,
                      1000);
      task = std::make_shared<ChatTask>(loop_, call, std::move(request), std::move(options),
                                        [this, key] { forget(key); });
      open_[key] = task;
    }
    task->launch();
    return Status();
  }

  void cancel(Call call) override {
    std::shared_ptr<ChatTask> task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = open_.find(call.raw());
      if (it == open_.end()) return;
      task = it->second;
    }
    task->cancel();
  }

 private:
  void forget(oaio_call* key) {
    std::shared_ptr<ChatTask> dead;  // released outside the lock
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = open_.find(key);
      if (it == open_.end()) return;
      dead = std::move(it->second);
      open_.erase(it);
    }
    cv_.notify_all();
  }

  // RUNNING while every source is connected; DEGRADED (with the reason) otherwise.
  void source_state(const std::string& name, bool connected, const std::string& detail, std::uint32_t retry_ms) {
    std::lock_guard<std::mutex> lock(mu_);
    if (connected) {
      degraded_.erase(name);
    } else {
      degraded_[name] = detail;
    }
    if (degraded_.empty()) {
      host().report_state(OAIO_STATE_RUNNING, {});
    } else {
      host().report_state(OAIO_STATE_DEGRADED, degraded_.begin()->second, retry_ms);
      if (host().log_enabled(OAIO_LOG_WARN)) host().warn(detail);
    }
  }

  BridgeConfig config_;            // read-only after the constructor
  std::vector<std::string> secrets_;
  CurlLoop loop_;
  std::vector<std::shared_ptr<SourceTask>> sources_;  // control thread only

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<oaio_call*, std::shared_ptr<ChatTask>> open_;  // guarded by mu_
  std::unordered_map<std::string, std::string> degraded_;          // guarded by mu_
  bool draining_ = false;                                           // guarded by mu_
};

}  // namespace

OAIO_PLUGIN_ENTRY(SseBridge)
