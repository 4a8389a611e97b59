// The mcp bridge plugin: every tool of one MCP server becomes the bus target
// "<prefix>.<encoded tool name>" (tool_names.h), served for Invoke and StreamInvoke.
//
// Moving parts and who owns what:
//   - the supervisor thread (started by start(), joined by stop()) owns connecting,
//     reconnecting with exponential back-off, listing tools and (un)registering targets.
//     It is the only thread that creates or destroys a Client: a Client must never die
//     on one of its own transport threads.
//   - host workers run call()/cancel(); they look up the current Client under mu_.
//   - Client callbacks (results, progress, list_changed, connection lost) run on
//     transport threads; they end calls and wake the supervisor, nothing more.
// Every inbound call is in inflight_ until it is ended; whoever removes it from there
// (result, error, timeout, cancel, stop) ends it, so each call ends exactly once.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "arg_validator.h"
#include "client.h"
#include "config.h"
#include "oaio/plugin.hpp"
#include "tool_names.h"

namespace oaio::mcp {
namespace {

using oaio::plugin::Bridge;
using oaio::plugin::Call;
using oaio::plugin::CallInfo;
using oaio::plugin::Failure;
using oaio::plugin::Host;
using oaio::plugin::Info;
using oaio::plugin::Status;

struct Tool {
  ToolInfo info;
  std::string target;                       // "<prefix>.<encoded name>"
  std::shared_ptr<ArgValidator> validator;  // immutable
  std::string schema_text;                  // as registered; "" = none
};

class McpBridge : public Bridge {
 public:
  static Info info() {
    Info i;
    i.name = "mcp";
    i.version = "1.0.0";
    i.description = "Exposes every tool of an MCP server (stdio or Streamable HTTP) as an invoke target";
    i.flows = OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM;
    // call() validates the arguments and writes one request line (stdio: to a socket
    // whose buffer a live server drains; HTTP: hands it to a worker), so it does not
    // wait for the server.
    i.features = OAIO_FEATURE_CANCEL | OAIO_FEATURE_PROGRESS | OAIO_FEATURE_DYNAMIC_TARGETS |
                 OAIO_FEATURE_NONBLOCKING_CALL;
    i.config_schema = kConfigSchema;
    i.manifest_types = "mcp_tool";
    return i;
  }

  McpBridge(Host& host, std::string_view config) : Bridge(host) {
    try {
      config_ = parse_config(config, host.bridge_name());
    } catch (const std::invalid_argument& e) {
      throw Failure(OAIO_ERR_INVALID_REQUEST, e.what());
    }
    secrets_ = config_.secrets();
  }

  ~McpBridge() override { stop(); }

  // Connects once synchronously (so the tools are targets when start returns); on
  // failure reports DEGRADED and lets the supervisor keep trying.
  Status start() override {
    if (supervisor_.joinable()) return Status();
    if (auto e = connect_once()) {
      std::lock_guard<std::mutex> lock(mu_);
      outage_ = e->message;
      need_connect_ = true;
      host().report_state(OAIO_STATE_DEGRADED, "MCP server unavailable, retrying: " + e->message);
    }
    supervisor_ = std::thread([this] { supervise(); });
    return Status();
  }

  Status drain(uint32_t deadline_ms) override {
    std::unique_lock<std::mutex> lock(mu_);
    draining_ = true;
    if (drained_cv_.wait_for(lock, std::chrono::milliseconds(deadline_ms), [this] { return inflight_.empty(); }))
      return Status();
    return Status(OAIO_ERR_AGENT_TIMEOUT, std::to_string(inflight_.size()) + " MCP calls still running");
  }

  void stop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (supervisor_.joinable()) supervisor_.join();
    std::shared_ptr<Client> client;
    std::vector<std::shared_ptr<Client>> retired;
    {
      std::lock_guard<std::mutex> lock(mu_);
      client = std::move(client_);
      retired.swap(retired_);
    }
    if (client) client->close("the bridge stopped");  // fails its pending calls
    client.reset();
    retired.clear();
    std::map<oaio_call*, Inflight> left;
    {
      std::lock_guard<std::mutex> lock(mu_);
      left.swap(inflight_);
      stopped_ = true;
    }
    drained_cv_.notify_all();
    for (auto& [raw, f] : left) f.call.fail(OAIO_ERR_AGENT_UNAVAILABLE, "the MCP bridge stopped");
  }

  Status call(Call call) override {
    CallInfo info = call.info();
    if (info.status != OAIO_OK) return Status::internal("call_info failed");
    std::string_view target = info.target;
    std::size_t dot = target.rfind('.');
    auto tool_name = decode_tool_name(dot == std::string_view::npos ? target : target.substr(dot + 1));
    if (!tool_name) return Status(OAIO_ERR_NO_HANDLER, "'" + std::string(target) + "' is not an MCP tool target");

    std::shared_ptr<Client> client;
    std::shared_ptr<const Tool> tool;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || draining_) return Status(OAIO_ERR_AGENT_UNAVAILABLE, "the MCP bridge is stopping", 1);
      auto it = tools_.find(*tool_name);
      if (it != tools_.end()) tool = it->second;
      client = client_;
      if (!client) {
        // Fail fast during an outage: the supervisor is reconnecting.
        return Status(OAIO_ERR_AGENT_UNAVAILABLE, "MCP server unavailable (reconnecting): " + outage_, 1, 1000);
      }
    }
    if (!tool) return Status(OAIO_ERR_NO_HANDLER, "the MCP server no longer has tool '" + *tool_name + "'");

    Json args = Json::object();
    if (trim(info.payload).size() > 0) {
      args = Json::parse(info.payload, nullptr, false);
      if (args.is_discarded()) return Status::invalid("payload is not valid JSON");
      if (args.is_null()) args = Json::object();
      if (!args.is_object())
        return Status::invalid("payload must be a JSON object of tool arguments, not " + std::string(args.type_name()));
    }
    if (auto problem = tool->validator->validate(args))
      return Status::invalid("tool '" + tool->info.name + "': " + *problem);

    Json meta = Json::object();
    if (!info.session_id.empty()) meta["io.openagentio/session_id"] = std::string(info.session_id);
    if (!info.traceparent.empty()) meta["traceparent"] = std::string(info.traceparent);

    Client::CallRequest req;
    req.tool = tool->info.name;
    req.arguments = std::move(args);
    req.meta = std::move(meta);
    req.timeout = config_.call_timeout;
    oaio_call* raw = call.raw();
    uint64_t serial = 0;
    {
      // In inflight_ before anything reaches the caller, so a cancel racing with this
      // hook finds the call (and ends it) instead of being lost.
      std::lock_guard<std::mutex> lock(mu_);
      serial = ++next_serial_;
      inflight_[raw] = Inflight{call, client, 0, serial};
      // Under mu_, like progress: never after a concurrent cancel() ended the call.
      if (info.is_stream) call.started(Json{{"tool", tool->info.name}}.dump());
    }
    if (info.is_stream) {
      req.on_progress = [this, raw, serial](double p, double total, const std::string& message) {
        std::lock_guard<std::mutex> lock(mu_);  // no progress after the call ended
        auto it = inflight_.find(raw);
        if (it != inflight_.end() && it->second.serial == serial) it->second.call.progress(p, total, message);
      };
    }
    req.on_done = [this, raw, serial](Client::Outcome outcome) { finish(raw, serial, std::move(outcome)); };
    auto sent = client->call_tool(std::move(req));
    if (auto* e = std::get_if<CallError>(&sent)) {
      if (take(raw, serial)) call.fail(e->code, e->message, e->retryable);
      return Status();
    }
    int64_t id = std::get<int64_t>(sent);
    bool gone = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = inflight_.find(raw);
      // The serial tells our entry from a later call the host gave the same address.
      if (it != inflight_.end() && it->second.serial == serial) {
        it->second.request_id = id;
      } else {
        gone = true;  // cancelled before we knew the id, or already answered
      }
    }
    if (gone) client->cancel(id, "cancelled by the caller");  // no-op if it was answered
    return Status();
  }

  void cancel(Call call) override {
    std::weak_ptr<Client> weak;
    int64_t id = 0;
    bool drained = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = inflight_.find(call.raw());
      if (it == inflight_.end()) return;
      weak = it->second.client;
      id = it->second.request_id;
      drained = erase_inflight(it);
    }
    if (drained) drained_cv_.notify_all();
    if (id != 0)
      if (auto c = weak.lock()) c->cancel(id, "cancelled by the caller");
    call.fail(OAIO_ERR_CANCELLED, "the call was cancelled");
  }

 private:
  struct Inflight {
    Call call;
    std::weak_ptr<Client> client;
    int64_t request_id = 0;  // 0 until tools/call was sent
    uint64_t serial = 0;     // unique per call, see call()
  };

  // Erases a call from inflight_ (mu_ held); true when a drain() waits for the last one.
  // Only then is drained_cv_ notified: a notify per call would wake a waiter on every
  // call, a context switch on the reply's path.
  bool erase_inflight(std::map<oaio_call*, Inflight>::iterator it) {
    inflight_.erase(it);
    return draining_ && inflight_.empty();
  }

  // Removes a call from inflight_; true if this caller now owns ending it. `serial`
  // tells the call from a later one the host gave the same address.
  bool take(oaio_call* raw, uint64_t serial) {
    bool found = false;
    bool drained = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = inflight_.find(raw);
      if (it != inflight_.end() && it->second.serial == serial) {
        drained = erase_inflight(it);
        found = true;
      }
    }
    if (drained) drained_cv_.notify_all();
    return found;
  }

  void finish(oaio_call* raw, uint64_t serial, Client::Outcome outcome) {
    Call call;
    bool drained = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = inflight_.find(raw);
      if (it == inflight_.end() || it->second.serial != serial) return;
      call = it->second.call;
      drained = erase_inflight(it);
    }
    if (drained) drained_cv_.notify_all();
    if (!outcome.result) {
      call.fail(outcome.error.code, redact(outcome.error.message, secrets_), outcome.error.retryable);
    } else if (is_tool_error(*outcome.result)) {
      CallError e = tool_error(*outcome.result, secrets_);
      call.fail(e.code, e.message, e.retryable);
    } else {
      call.complete(final_payload(*outcome.result).dump(-1, ' ', false, Json::error_handler_t::replace));
    }
  }

  std::unique_ptr<Transport> make_transport() const {
    if (config_.transport == TransportKind::kStdio) return std::make_unique<StdioTransport>(config_.stdio);
    return std::make_unique<HttpTransport>(config_.http);
  }

  // One connection attempt: initialize, list, register. Control or supervisor thread.
  std::optional<CallError> connect_once() {
    Client::Handlers h;
    auto holder = std::make_shared<Client*>(nullptr);  // the client these handlers belong to
    h.log = [this](int32_t level, std::string_view line) { host().log(level, redact(line, secrets_)); };
    h.on_tools_changed = [this] {
      {
        std::lock_guard<std::mutex> lock(mu_);
        need_refresh_ = true;
      }
      cv_.notify_all();
    };
    h.on_closed = [this, holder](const CallError& why) { lost(*holder, why); };
    auto client = std::make_shared<Client>(make_transport(), std::move(h), secrets_);
    *holder = client.get();
    if (auto e = client->connect(config_.connect_timeout)) {
      retire(std::move(client));
      return e;
    }
    std::vector<ToolInfo> tools;
    if (auto e = client->list_tools(config_.connect_timeout, &tools)) {
      retire(std::move(client));
      return e;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!client->connected()) {  // lost while listing
        retired_.push_back(std::move(client));
        return CallError{OAIO_ERR_AGENT_UNAVAILABLE, outage_.empty() ? "MCP server went away" : outage_};
      }
      client_ = client;
      need_connect_ = false;
      outage_.clear();
    }
    sync_targets(tools);
    host().info("connected to the MCP server over " + std::string(config_.transport == TransportKind::kStdio
                                                                       ? "stdio"
                                                                       : "streamable_http") +
                " (protocol " + client->protocol_version() + ", " + std::to_string(tools.size()) + " tools)");
    host().report_state(OAIO_STATE_RUNNING, "");
    return std::nullopt;
  }

  // A Client failed to connect: closed here (not on one of its own threads).
  void retire(std::shared_ptr<Client> client) { client->close("connection attempt failed"); }

  // The current client's connection is gone (a transport thread): calls already failed
  // inside the Client; from now on calls fail fast until the supervisor reconnects.
  void lost(Client* which, const CallError& why) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!client_ || client_.get() != which) return;
      retired_.push_back(std::move(client_));  // destroyed by the supervisor
      outage_ = why.message;
      need_connect_ = true;
    }
    cv_.notify_all();
    host().warn("MCP server connection lost: " + why.message);
    host().report_state(OAIO_STATE_DEGRADED, "MCP server connection lost, reconnecting: " + why.message);
  }

  // Registers targets for tools that are new or changed, unregisters removed ones.
  void sync_targets(const std::vector<ToolInfo>& listed) {
    std::map<std::string, std::shared_ptr<const Tool>> next;
    for (const ToolInfo& t : listed) {
      if (!config_.tool_allowed(t.name)) continue;
      auto tool = std::make_shared<Tool>();
      tool->info = t;
      tool->target = config_.prefix + "." + encode_tool_name(t.name);
      tool->validator = std::make_shared<ArgValidator>(t.input_schema);
      if (!tool->validator->compile_error().empty())
        host().warn("tool '" + t.name + "': input schema not usable for validation: " + tool->validator->compile_error());
      tool->schema_text = t.input_schema.is_object() ? t.input_schema.dump() : "";
      next[t.name] = std::move(tool);
    }
    std::map<std::string, std::shared_ptr<const Tool>> previous;
    {
      std::lock_guard<std::mutex> lock(mu_);
      previous = tools_;
      tools_ = next;
    }
    for (const auto& [name, tool] : previous)
      if (next.find(name) == next.end()) host().unregister_target(tool->target);
    for (const auto& [name, tool] : next) {
      auto old = previous.find(name);
      if (old != previous.end() && old->second->schema_text == tool->schema_text &&
          old->second->info.description == tool->info.description)
        continue;
      oaio::plugin::Target t;
      t.name = tool->target;
      t.flows = OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM;
      t.description = tool->info.description;
      t.input_schema = tool->schema_text;
      if (oaio_status s = host().register_target(t); s != OAIO_OK)
        host().warn("cannot register target '" + tool->target + "' (status " + std::to_string(s) + ")");
    }
  }

  void refresh_tools() {
    std::shared_ptr<Client> client;
    {
      std::lock_guard<std::mutex> lock(mu_);
      client = client_;
    }
    if (!client) return;
    std::vector<ToolInfo> tools;
    if (auto e = client->list_tools(config_.connect_timeout, &tools)) {
      host().warn("tools/list after list_changed failed: " + e->message);
      return;
    }
    sync_targets(tools);
    host().info("MCP tool list changed: " + std::to_string(tools.size()) + " tools");
  }

  void supervise() {
    auto delay = config_.reconnect_initial;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      if (!retired_.empty()) {
        std::vector<std::shared_ptr<Client>> dead;
        dead.swap(retired_);
        lock.unlock();
        dead.clear();  // joins their transport threads, outside mu_
        lock.lock();
        continue;
      }
      if (need_connect_) {
        lock.unlock();
        auto e = connect_once();
        lock.lock();
        if (!e) {
          delay = config_.reconnect_initial;
          continue;
        }
        outage_ = e->message;
        lock.unlock();
        host().report_state(OAIO_STATE_DEGRADED, "MCP server unavailable, retrying: " + e->message);
        lock.lock();
        cv_.wait_for(lock, delay, [this] { return stopping_; });
        delay = std::min(config_.reconnect_max, delay * 2);
        continue;
      }
      if (need_refresh_) {
        need_refresh_ = false;
        lock.unlock();
        refresh_tools();
        lock.lock();
        continue;
      }
      cv_.wait(lock, [this] { return stopping_ || need_connect_ || need_refresh_ || !retired_.empty(); });
    }
  }

  BridgeConfig config_;
  std::vector<std::string> secrets_;
  std::mutex mu_;
  std::condition_variable cv_;          // wakes the supervisor (stopping_, need_*, retired_)
  std::condition_variable drained_cv_;  // wakes drain(): inflight_ became empty
  std::shared_ptr<Client> client_;                         // guarded by mu_; null during an outage
  std::vector<std::shared_ptr<Client>> retired_;           // guarded by mu_; destroyed by the supervisor
  std::map<std::string, std::shared_ptr<const Tool>> tools_;  // guarded by mu_; by MCP tool name
  std::map<oaio_call*, Inflight> inflight_;                // guarded by mu_
  uint64_t next_serial_ = 0;                               // guarded by mu_
  std::string outage_;                                     // guarded by mu_; why we are disconnected
  bool need_connect_ = false;                              // guarded by mu_
  bool need_refresh_ = false;                              // guarded by mu_
  bool draining_ = false;                                  // guarded by mu_
  bool stopping_ = false;                                  // guarded by mu_
  bool stopped_ = false;                                   // guarded by mu_
  std::thread supervisor_;                                 // control thread only
};

}  // namespace
}  // namespace oaio::mcp

OAIO_PLUGIN_ENTRY(oaio::mcp::McpBridge)
