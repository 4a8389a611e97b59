#include "client.h"

#include <algorithm>
#include <future>

namespace oaio::mcp {
namespace {
constexpr char kClientName[] = "openagentio-mcp";
constexpr char kClientVersion[] = "1.0.0";
constexpr int kMaxPages = 1000;

}  // namespace

Client::Client(std::unique_ptr<Transport> transport, Handlers handlers, std::vector<std::string> secrets)
    : transport_(std::move(transport)), handlers_(std::move(handlers)), secrets_(std::move(secrets)) {
  timer_ = std::thread([this] { timer_loop(); });
}

Client::~Client() {
  close();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void Client::log(int32_t level, std::string_view line) const {
  if (handlers_.log) handlers_.log(level, line);
}

std::optional<CallError> Client::connect(std::chrono::milliseconds timeout) {
  TransportCallbacks cb;
  cb.on_frame = [this](std::string_view f) { on_frame(f); };
  cb.on_oversized = [this](std::string_view h, std::string_view t, std::size_t n) { on_oversized(h, t, n); };
  cb.on_request_failed = [this](int64_t id, const CallError& e) { finish(id, Outcome{std::nullopt, e}); };
  cb.is_pending = [this](int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.count(id) > 0;
  };
  cb.on_closed = [this](const CallError& why) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!open_) return;
      open_ = false;
      initialized_ = false;
      closed_reason_ = why.message;
    }
    fail_all(why);
    if (handlers_.on_closed) handlers_.on_closed(why);
  };
  cb.log = handlers_.log;
  {
    // Open before the transport starts: a server that dies at once must still be seen.
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
  }
  if (auto e = transport_->open(std::move(cb))) {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
    return e;
  }
  Json params = {{"protocolVersion", kLatestProtocolVersion},
                 {"capabilities", Json::object()},
                 {"clientInfo", {{"name", kClientName}, {"version", kClientVersion}}}};
  auto out = request_sync("initialize", std::move(params), timeout);
  if (!out) return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "MCP connection lost during initialize"};
  if (!out->result) return out->error;
  const Json& r = *out->result;
  std::string version = r.is_object() ? r.value("protocolVersion", std::string()) : std::string();
  if (std::find(kSupportedProtocolVersions.begin(), kSupportedProtocolVersions.end(), version) ==
      kSupportedProtocolVersions.end()) {
    return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "MCP server wants protocol version '" + version +
                                                     "'; this bridge supports 2025-11-25, 2025-06-18 and 2025-03-26",
                     0};
  }
  transport_->set_protocol_version(version);
  if (auto e = transport_->send(make_notification("notifications/initialized", Json()), std::nullopt,
                                "notifications/initialized"))
    return e;
  transport_->on_initialized();
  std::lock_guard<std::mutex> lock(mu_);
  protocol_version_ = version;
  server_info_ = r.is_object() && r.contains("serverInfo") ? r["serverInfo"] : Json();
  initialized_ = open_;
  if (!initialized_) return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "MCP connection lost during initialize"};
  return std::nullopt;
}

std::optional<CallError> Client::list_tools(std::chrono::milliseconds timeout, std::vector<ToolInfo>* tools) {
  tools->clear();
  std::string cursor;
  for (int page = 0; page < kMaxPages; ++page) {
    Json params = Json::object();
    if (!cursor.empty()) params["cursor"] = cursor;
    auto out = request_sync("tools/list", std::move(params), timeout);
    if (!out) return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "MCP connection lost during tools/list"};
    if (!out->result) return out->error;
    const Json& r = *out->result;
    if (!r.is_object() || !r.contains("tools") || !r["tools"].is_array())
      return CallError{OAIO_ERR_CODEC, "tools/list result has no \"tools\" array"};
    for (const Json& t : r["tools"]) {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) continue;
      ToolInfo info;
      info.name = t["name"].get<std::string>();
      if (t.contains("description") && t["description"].is_string())
        info.description = t["description"].get<std::string>();
      else if (t.contains("title") && t["title"].is_string())
        info.description = t["title"].get<std::string>();
      if (t.contains("inputSchema") && t["inputSchema"].is_object()) info.input_schema = t["inputSchema"];
      tools->push_back(std::move(info));
    }
    auto next = r.find("nextCursor");
    if (next == r.end() || !next->is_string() || next->get<std::string>().empty()) return std::nullopt;
    cursor = next->get<std::string>();
  }
  return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "tools/list returned more than 1000 pages"};
}

std::variant<int64_t, CallError> Client::call_tool(CallRequest req) {
  Json params = Json::object();
  params["name"] = std::move(req.tool);
  params["arguments"] = req.arguments.is_null() ? Json::object() : std::move(req.arguments);
  if (req.meta.is_object() && !req.meta.empty()) params["_meta"] = std::move(req.meta);
  bool token = static_cast<bool>(req.on_progress);
  return request("tools/call", std::move(params), req.timeout, std::move(req.on_progress), std::move(req.on_done),
                 token);
}

std::variant<int64_t, CallError> Client::request(const std::string& method, Json params,
                                                 std::chrono::milliseconds timeout, ProgressFn on_progress,
                                                 DoneFn on_done, bool progress_token) {
  int64_t id;
  bool wake_timer = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!open_ || (!initialized_ && method != "initialize"))
      return CallError{OAIO_ERR_AGENT_UNAVAILABLE,
                       closed_reason_.empty() ? "MCP server is not connected" : closed_reason_, 1};
    id = next_id_++;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    pending_[id] = Pending{deadline, method, std::move(on_progress), std::move(on_done)};
    if (deadline < timer_wake_) {
      timer_wake_ = deadline;  // no second wake-up for a request due later than this one
      wake_timer = true;
    }
  }
  if (progress_token) {
    if (!params.contains("_meta") || !params["_meta"].is_object()) params["_meta"] = Json::object();
    params["_meta"]["progressToken"] = id;
  }
  if (wake_timer) cv_.notify_all();
  if (auto e = transport_->send(make_request(id, method, params), id, method)) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.erase(id);
    return *e;
  }
  return id;
}

std::optional<Client::Outcome> Client::request_sync(const std::string& method, Json params,
                                                    std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto future = promise->get_future();
  auto sent = request(method, std::move(params), timeout, nullptr,
                      [promise](Outcome o) { promise->set_value(std::move(o)); }, false);
  if (auto* e = std::get_if<CallError>(&sent)) return Outcome{std::nullopt, *e};
  // The timer fails the request at its deadline; wait a little longer than that.
  if (future.wait_for(timeout + std::chrono::seconds(2)) != std::future_status::ready) return std::nullopt;
  return future.get();
}

bool Client::cancel(int64_t request_id, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.erase(request_id) == 0) return false;
  }
  transport_->send(make_notification("notifications/cancelled", {{"requestId", request_id}, {"reason", reason}}),
                   std::nullopt, "notifications/cancelled");
  return true;
}

bool Client::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_ && initialized_;
}

std::string Client::protocol_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return protocol_version_;
}

Json Client::server_info() const {
  std::lock_guard<std::mutex> lock(mu_);
  return server_info_;
}

void Client::close(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
    initialized_ = false;
    if (closed_reason_.empty()) closed_reason_ = why;
  }
  transport_->close();  // joins the transport threads: no frame arrives after this
  fail_all(CallError{OAIO_ERR_AGENT_UNAVAILABLE, why});
}

void Client::on_frame(std::string_view frame) {
  std::string error;
  auto messages = parse_frame(frame, &error);
  if (messages.empty()) {
    log(OAIO_LOG_WARN, "dropped a malformed frame from the MCP server: " + error);
    return;
  }
  for (Message& m : messages) on_message(std::move(m));
}

void Client::on_oversized(std::string_view head, std::string_view tail, std::size_t length) {
  std::string what = "a message of " + std::to_string(length) +
                     " bytes from the MCP server exceeds the limit (config max_message_bytes)";
  log(OAIO_LOG_WARN, "dropped " + what);
  if (auto id = sniff_id(head, tail)) finish(*id, Outcome{std::nullopt, CallError{OAIO_ERR_CODEC, "the result of " + what}});
}

void Client::on_message(Message m) {
  switch (m.kind) {
    case MessageKind::kResult:
    case MessageKind::kError: {
      if (!m.id.is_number_integer()) {
        log(OAIO_LOG_WARN, "MCP response with an id we never sent: dropped");
        return;
      }
      Outcome o;
      if (m.kind == MessageKind::kResult) {
        o.result = std::move(m.result);
      } else {
        std::string msg = redact(trim(m.error_message), secrets_);
        if (msg.empty()) msg = "JSON-RPC error " + std::to_string(m.error_code);
        o.error = CallError{code_for_jsonrpc_error(m.error_code), "MCP error " + std::to_string(m.error_code) + ": " + msg};
      }
      finish(m.id.get<int64_t>(), std::move(o));
      return;
    }
    case MessageKind::kNotification: {
      if (m.method == "notifications/progress" && m.params.is_object()) {
        const Json& p = m.params;
        if (!p.contains("progressToken") || !p["progressToken"].is_number_integer()) return;
        ProgressFn fn;
        {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = pending_.find(p["progressToken"].get<int64_t>());
          if (it == pending_.end()) return;
          fn = it->second.on_progress;
        }
        if (!fn) return;
        double progress = p.contains("progress") && p["progress"].is_number() ? p["progress"].get<double>() : 0;
        double total = p.contains("total") && p["total"].is_number() ? p["total"].get<double>() : -1;
        std::string message = p.contains("message") && p["message"].is_string() ? p["message"].get<std::string>() : "";
        fn(progress, total, message);
      } else if (m.method == "notifications/tools/list_changed") {
        if (handlers_.on_tools_changed) handlers_.on_tools_changed();
      } else if (m.method == "notifications/message" && m.params.is_object()) {
        log(OAIO_LOG_DEBUG, "server log: " + m.params.value("data", Json()).dump(-1, ' ', false, Json::error_handler_t::replace));
      }
      return;  // other notifications (resources, cancelled, ...) are not used by this bridge
    }
    case MessageKind::kRequest: {
      std::string reply = m.method == "ping"
                              ? make_result(m.id, Json::object())
                              : make_error(m.id, kMethodNotFound, "Method not found: " + m.method);
      transport_->send(reply, std::nullopt, "response");
      return;
    }
  }
}

void Client::finish(int64_t id, Outcome outcome) {
  DoneFn done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // cancelled, timed out, or an id we never sent
    done = std::move(it->second.on_done);
    pending_.erase(it);
  }
  if (done) done(std::move(outcome));
}

void Client::fail_all(const CallError& why) {
  std::map<int64_t, Pending> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(pending_);
  }
  for (auto& [id, p] : all)
    if (p.on_done) p.on_done(Outcome{std::nullopt, why});
}

void Client::timer_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<int64_t, Pending>> expired;
    auto next = now + std::chrono::hours(1);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        expired.emplace_back(it->first, std::move(it->second));
        it = pending_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (auto& [id, p] : expired) {
        transport_->send(make_notification("notifications/cancelled", {{"requestId", id}, {"reason", "timeout"}}),
                         std::nullopt, "notifications/cancelled");
        if (p.on_done)
          p.on_done(Outcome{std::nullopt, CallError{OAIO_ERR_AGENT_TIMEOUT,
                                                    "MCP server did not answer " + p.method + " in time", 1}});
      }
      lock.lock();
      continue;
    }
    timer_wake_ = next;
    cv_.wait_until(lock, next);
    timer_wake_ = std::chrono::steady_clock::time_point::max();  // awake: rescans before sleeping
  }
}

}  // namespace oaio::mcp
