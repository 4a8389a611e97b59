// hpp_guard: a plugin.hpp bridge whose hooks throw on request (the helper must catch everything); built as C++17.
#include <stdexcept>
#include <string>
#include <string_view>

#include "oaio/plugin.hpp"

namespace {

using oaio::plugin::Bridge;
using oaio::plugin::Call;
using oaio::plugin::Failure;
using oaio::plugin::Frame;
using oaio::plugin::Host;
using oaio::plugin::Info;
using oaio::plugin::Status;

bool has(std::string_view text, std::string_view word) { return text.find(word) != std::string_view::npos; }

// Config words: throw_std / throw_failure / throw_int (constructor), start_fails, stop_throws.
// Payload words: throw, refuse, publish, invoke, subscribe; anything else is echoed.
class GuardBridge : public Bridge {
 public:
  static Info info() {
    Info i;
    i.name = "hpp_guard";
    i.version = "0.0.1";
    i.description = "plugin.hpp guard test";
    i.flows = OAIO_FLOW_INVOKE;
    i.features = OAIO_FEATURE_CANCEL;
    i.config_schema = R"({"type":"object"})";
    return i;
  }

  GuardBridge(Host& host, std::string_view config) : Bridge(host), config_(config) {
    if (has(config, "throw_std")) throw std::runtime_error("constructor boom");
    if (has(config, "throw_failure")) throw Failure(OAIO_ERR_INVALID_REQUEST, "config refused");
    if (has(config, "throw_int")) throw 42;
    oaio::plugin::Target t;
    t.name = "guard";
    if (oaio_status s = host.register_target(t); s != OAIO_OK) throw Failure(s, "register_target failed");
  }

  Status start() override {
    if (has(config_, "start_fails")) return Status(OAIO_ERR_TRANSPORT, "upstream down", 1, 1500);
    return Status();
  }

  void stop() override {
    if (has(config_, "stop_throws")) throw std::runtime_error("stop boom");
  }

  Status call(Call call) override {
    oaio::plugin::CallInfo info = call.info();
    if (has(info.payload, "throw")) throw std::logic_error("call boom");
    if (has(info.payload, "refuse")) return Status::invalid("refused");
    if (has(info.payload, "publish")) {
      call.complete("{\"publish\":" + std::to_string(host().publish("test.event", "{}")) + "}");
    } else if (has(info.payload, "invoke")) {
      // The reply completes the inbound call (the fake host answers synchronously).
      oaio_status s = host().invoke("other", R"({"q":1})", [call](const Frame* f, const Status* e) {
        if (f != nullptr) call.complete(f->payload);
        if (e != nullptr) call.fail(*e);
        return true;
      });
      if (s != OAIO_OK) return Status(s, "invoke refused");
    } else if (has(info.payload, "subscribe")) {
      oaio_status s = host().subscribe("test.event", "", [this](std::string_view, std::string_view payload,
                                                                 std::string_view) {
        if (has(payload, "throw")) throw std::runtime_error("event boom");
        host().info("event " + std::string(payload));
      });
      call.complete("{\"subscribe\":" + std::to_string(s) + "}");
    } else {
      call.complete(info.payload);
    }
    return Status();
  }

  void cancel(Call) override { throw std::runtime_error("cancel boom"); }

 private:
  const std::string config_;
};

}  // namespace

OAIO_PLUGIN_ENTRY(GuardBridge)
