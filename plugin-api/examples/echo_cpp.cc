// echo_cpp: the C++ example bridge plugin, written against oaio/plugin.hpp (a class,
// not a vtable). It serves one target (config "target", default "echo-cpp") for invoke
// and stream callers:
//   - a stream caller gets started {"plugin":"echo_cpp"}, then the payload's "text"
//     split into deltas {"delta":"..."} of at most chunk_size code points;
//   - every caller then gets the final {"echo": <payload or null>, "plugin":"echo_cpp"};
//   - a payload {"fail":{"code":"AGENT_TIMEOUT","message":"..."}} (optional
//     "retryable", "retry_after_ms") fails the call with that ACP code instead;
//   - with delay_ms > 0 the reply is sent after the delay from the bridge's own worker
//     thread; a cancelled delayed call is failed with OAIO_ERR_CANCELLED at once and
//     sends nothing more (the host drops that reply; it releases the call handle).
// THREAD: call/cancel run on host workers; the worker thread owns delayed replies.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "oaio/plugin.hpp"

namespace {

using oaio::plugin::Bridge;
using oaio::plugin::Call;
using oaio::plugin::Failure;
using oaio::plugin::Host;
using oaio::plugin::Info;
using oaio::plugin::Status;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr char kName[] = "echo_cpp";
constexpr char kConfigSchema[] =
    R"({"type":"object","properties":{"target":{"type":"string","default":"echo-cpp"},)"
    R"("delay_ms":{"type":"integer","minimum":0},"chunk_size":{"type":"integer","minimum":1}},)"
    R"("additionalProperties":false})";
constexpr char kInputSchema[] =
    R"({"type":"object","properties":{"text":{"type":"string"},"fail":{"type":"object",)"
    R"("properties":{"code":{"type":"string"},"message":{"type":"string"}}}}})";

struct Config {
  std::string target = "echo-cpp";
  std::uint32_t delay_ms = 0;   // 0 = reply from the call hook
  std::size_t chunk_size = 16;  // code points per delta
};

// The host validated the config against kConfigSchema; this still refuses what it
// cannot use, so the plugin is safe under a host that skipped validation.
Config parse_config(std::string_view text) {
  Config c;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return c;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) throw Failure(OAIO_ERR_INVALID_REQUEST, "echo_cpp: config must be a JSON object");
  for (auto& [key, value] : j.items()) {
    if (key == "target" && value.is_string() && !value.get<std::string>().empty()) {
      c.target = value.get<std::string>();
    } else if (key == "delay_ms" && value.is_number_unsigned()) {
      c.delay_ms = value.get<std::uint32_t>();
    } else if (key == "chunk_size" && value.is_number_unsigned() && value.get<std::uint64_t>() >= 1) {
      c.chunk_size = value.get<std::size_t>();
    } else {
      throw Failure(OAIO_ERR_INVALID_REQUEST, "echo_cpp: bad config value or unknown key '" + key + "'");
    }
  }
  return c;
}

oaio_status code_from_name(std::string_view name) {
  static const std::pair<std::string_view, oaio_status> kCodes[] = {
      {"AGENT_TIMEOUT", OAIO_ERR_AGENT_TIMEOUT},   {"AGENT_UNAVAILABLE", OAIO_ERR_AGENT_UNAVAILABLE},
      {"BACKPRESSURE_DROP", OAIO_ERR_BACKPRESSURE}, {"TRANSPORT_FAILURE", OAIO_ERR_TRANSPORT},
      {"CODEC_FAILURE", OAIO_ERR_CODEC},            {"AUTH_FAILURE", OAIO_ERR_AUTH},
      {"INVALID_REQUEST", OAIO_ERR_INVALID_REQUEST}, {"NO_HANDLER", OAIO_ERR_NO_HANDLER},
      {"CANCELLED", OAIO_ERR_CANCELLED},            {"INTERNAL", OAIO_ERR_INTERNAL},
  };
  for (const auto& [n, code] : kCodes)
    if (n == name) return code;
  return 0;
}

// Splits UTF-8 `text` into pieces of at most `n` code points (never inside a sequence).
std::vector<std::string> split_code_points(const std::string& text, std::size_t n) {
  std::vector<std::string> out;
  std::size_t start = 0, count = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool lead = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (lead && count == n) {
      out.push_back(text.substr(start, i - start));
      start = i;
      count = 0;
    }
    if (lead) ++count;
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

// Sends the whole reply of one call (frames, then complete or fail).
void respond(const Call& call, std::size_t chunk_size) {
  oaio::plugin::CallInfo info = call.info();
  if (info.status != OAIO_OK) {
    call.fail(OAIO_ERR_INTERNAL, "echo_cpp: call_info failed");
    return;
  }
  bool blank = info.payload.find_first_not_of(" \t\r\n") == std::string_view::npos;
  Json payload = blank ? Json() : Json::parse(info.payload, nullptr, false);
  if (payload.is_discarded()) {
    call.fail(OAIO_ERR_INVALID_REQUEST, "echo_cpp: payload is not valid JSON");
    return;
  }
  if (payload.is_object() && payload.contains("fail") && payload["fail"].is_object()) {
    const Json& f = payload["fail"];
    std::string name = f.value("code", std::string("AGENT_UNAVAILABLE"));
    oaio_status code = code_from_name(name);
    if (code == 0) {
      call.fail(OAIO_ERR_INVALID_REQUEST, "echo_cpp: unknown fail code '" + name + "'");
      return;
    }
    int32_t retryable = -1;
    if (f.contains("retryable") && f["retryable"].is_boolean()) retryable = f["retryable"].get<bool>() ? 1 : 0;
    std::uint32_t retry_after = f.contains("retry_after_ms") && f["retry_after_ms"].is_number_unsigned()
                                    ? f["retry_after_ms"].get<std::uint32_t>()
                                    : 0;
    call.fail(code, f.value("message", std::string("echo_cpp: failed as asked")), retryable, retry_after);
    return;
  }
  if (info.is_stream) {
    call.started(R"({"plugin":"echo_cpp"})");
    if (payload.is_object() && payload.contains("text") && payload["text"].is_string()) {
      for (const std::string& piece : split_code_points(payload["text"].get<std::string>(), chunk_size))
        call.delta(Json{{"delta", piece}}.dump());
    }
  }
  std::string final_payload = "{\"echo\":";
  final_payload.append(blank ? std::string_view("null") : info.payload);
  final_payload.append(",\"plugin\":\"echo_cpp\"}");
  call.complete(final_payload);
}

// respond() for threads no hook guard protects: nothing may escape a plugin thread.
void respond_guarded(const Call& call, std::size_t chunk_size) noexcept {
  try {
    respond(call, chunk_size);
  } catch (const std::exception& e) {
    call.fail(OAIO_ERR_INTERNAL, std::string("echo_cpp: ") + e.what());
  } catch (...) {
    call.fail(OAIO_ERR_INTERNAL, "echo_cpp: unexpected exception");
  }
}

class EchoBridge : public Bridge {
 public:
  static Info info() {
    Info i;
    i.name = kName;
    i.version = "1.0.0";
    i.description = "Echoes each call back (C++ example using plugin.hpp)";
    i.flows = OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM;
    i.features = OAIO_FEATURE_CANCEL | OAIO_FEATURE_NONBLOCKING_CALL;  // delays run on our own thread
    i.config_schema = kConfigSchema;
    return i;
  }

  EchoBridge(Host& host, std::string_view config) : Bridge(host), config_(parse_config(config)) {
    oaio::plugin::Target t;
    t.name = config_.target;
    t.flows = OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM;
    t.description = "Echoes the payload back; streams its \"text\" in chunks";
    t.input_schema = kInputSchema;
    if (oaio_status s = host.register_target(t); s != OAIO_OK)
      throw Failure(s, "echo_cpp: cannot register target '" + config_.target + "'");
  }

  ~EchoBridge() override { stop(); }

  Status start() override {
    if (config_.delay_ms > 0 && !worker_.joinable()) worker_ = std::thread([this] { run(); });
    return Status();
  }

  Status drain(std::uint32_t deadline_ms) override {
    std::unique_lock<std::mutex> lock(mu_);
    draining_ = true;
    return wait_until_idle(lock, cv_, deadline_ms, [this] { return pending_.empty(); },
                           [this] { return "echo_cpp: " + std::to_string(pending_.size()) + " calls still pending"; });
  }

  // Joins the worker, then fails the calls still pending.
  void stop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    std::list<Pending> left;
    {
      std::lock_guard<std::mutex> lock(mu_);
      left.swap(pending_);
    }
    for (const Pending& p : left) p.call.fail(OAIO_ERR_AGENT_UNAVAILABLE, "echo_cpp: bridge stopped");
    cv_.notify_all();
  }

  Status call(Call call) override {
    if (config_.delay_ms == 0) {
      respond_guarded(call, config_.chunk_size);
      return Status();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (draining_ || stopping_) return Status::unavailable("echo_cpp: bridge is draining");
      pending_.push_back(Pending{call, Clock::now() + std::chrono::milliseconds(config_.delay_ms)});
    }
    cv_.notify_all();
    return Status();
  }

  void cancel(Call call) override {
    bool found = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (it->call == call) {
          pending_.erase(it);
          found = true;
          break;
        }
      }
    }
    if (!found) return;  // already answered (or answered right now by the worker)
    cv_.notify_all();
    call.fail(OAIO_ERR_CANCELLED, "echo_cpp: cancelled");
  }

 private:
  struct Pending {
    Call call;
    Clock::time_point due;
  };

  // The worker: replies to delayed calls in order (all share one delay, so the list
  // is sorted by due time) until stop().
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      if (pending_.empty()) {
        cv_.wait(lock);
        continue;
      }
      if (Clock::now() < pending_.front().due) {
        cv_.wait_until(lock, pending_.front().due);
        continue;
      }
      Call call = pending_.front().call;
      pending_.pop_front();
      lock.unlock();
      respond_guarded(call, config_.chunk_size);  // from this plugin-owned thread
      lock.lock();
      cv_.notify_all();  // drain() waits for an empty list
    }
  }

  const Config config_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<Pending> pending_;  // guarded by mu_; sorted by due
  bool draining_ = false;       // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  std::thread worker_;          // control thread only
};

}  // namespace

OAIO_PLUGIN_ENTRY(EchoBridge)
