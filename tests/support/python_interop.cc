#include "support/python_interop.h"

#include <stdexcept>
#include <thread>

#include "oaio/nats_transport.h"

namespace oaio::test {
namespace {

json parse_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// A Status from {"code":C,"message":M[,"retryable":B]}.
Status status_from_spec(const json& spec) {
  std::string code = spec.value("code", "AGENT_UNAVAILABLE");
  std::string message = spec.value("message", "");
  std::optional<bool> retryable;
  if (spec.contains("retryable")) retryable = spec["retryable"].get<bool>();
  ErrorCode ec = error_code_from_name(code);
  if (ec == ErrorCode::kUnknown) return Status::unknown_code(code, message, retryable.value_or(false));
  return Status(ec, message, retryable);
}

}  // namespace

json envelope_json(const Envelope& env, bool with_payload) {
  json j = json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("spec_version", env.spec_version);
  j["schema_version"] = env.schema_version;
  put("event_id", env.event_id);
  put("event_type", env.event_type);
  put("frame_type", env.frame_type);
  put("occurred_at", env.occurred_at);
  put("trace_id", env.trace_id);
  put("span_id", env.span_id);
  put("traceparent", env.traceparent);
  put("session_id", env.session_id);
  put("conversation_id", env.conversation_id);
  put("correlation_id", env.correlation_id);
  put("reply_to", env.reply_to);
  put("from", env.from);
  put("to", env.to);
  put("channel", env.channel);
  put("tenant_id", env.tenant_id);
  put("user_id", env.user_id);
  if (env.seq != 0) j["seq"] = env.seq;
  if (env.is_final) j["is_final"] = true;
  if (with_payload && env.has_payload()) j["payload"] = payload_json(env);
  if (!env.metadata.empty()) j["metadata"] = metadata_json(env);
  return j;
}

json payload_json(const Envelope& env) { return parse_or_null(env.payload); }

json metadata_json(const Envelope& env) {
  json j = json::object();
  for (const auto& [key, raw] : env.metadata) j[key] = parse_or_null(raw);
  return j;
}

Metadata metadata_from(const json& object) {
  Metadata m;
  for (const auto& [key, value] : object.items()) m[key] = value.dump();
  return m;
}

// ---- CppTargets ----------------------------------------------------------------------

void CppTargets::State::record(const Envelope& request) {
  std::lock_guard<std::mutex> lock(mu);
  requests.push_back(request);
}

std::vector<Envelope> CppTargets::requests() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->requests;
}

size_t CppTargets::request_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->requests.size();
}

::testing::AssertionResult CppTargets::serve(Bus& bus, const std::string& name, HandlerOptions options) {
  state_->agent_id = bus.options().agent_id;
  std::shared_ptr<State> state = state_;

  auto echo = sync_invoke([state](Call& call) -> Result<Envelope> {
    const Envelope& req = call.request();
    state->record(req);
    std::string body = "{\"echo\":" + (req.has_payload() ? req.payload : std::string("null")) +
                       ",\"served_by\":" + json(state->agent_id).dump() +
                       ",\"request\":" + envelope_json(req, /*with_payload=*/false).dump() + "}";
    return result_payload(std::move(body));
  });
  auto silent = sync_invoke([state](Call& call) -> Result<Envelope> {
    state->record(call.request());
    return result_payload("");
  });
  auto fail = sync_invoke([state](Call& call) -> Result<Envelope> {
    state->record(call.request());
    json spec = payload_json(call.request());
    if (!spec.is_object()) return Status::invalid("fail: the payload must be an object");
    if (spec.contains("throw")) throw std::runtime_error(spec["throw"].get<std::string>());
    if (spec.contains("nested_timeout_ms")) {
      CallOptions nested;
      nested.timeout = std::chrono::milliseconds(spec["nested_timeout_ms"].get<int>());
      auto r = call.bus().invoke_payload("interop.nobody", "{}", nested);
      if (r.ok()) return Status::invalid("fail: the nested call was answered");
      return r.status();
    }
    return status_from_spec(spec);
  });
  auto stream = sync_stream([state](Call& call, StreamWriter& writer) -> Status {
    state->record(call.request());
    json script = payload_json(call.request());
    if (!script.is_object()) script = json::object();
    auto delay = std::chrono::milliseconds(script.value("delay_ms", 0));
    if (script.contains("started")) {
      const json& started = script["started"];
      OAIO_RETURN_IF_ERROR(writer.started(started.contains("meta") ? started["meta"].dump() : ""));
    }
    for (const json& chunk : script.value("deltas", json::array())) {
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      OAIO_RETURN_IF_ERROR(writer.delta(chunk.dump()));
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::string end = script.value("end", "final");
    if (end == "final") {
      return writer.final(script.contains("final") ? script["final"].dump() : "");
    }
    if (end == "raise") return status_from_spec(script.value("error", json::object()));
    return Status();  // "return": the bus sends the automatic final
  });

  struct Entry {
    std::string suffix;
    Handler handler;
    bool is_stream;
  };
  for (auto& [suffix, handler, is_stream] : std::vector<Entry>{
           {".echo", echo, false}, {".silent", silent, false}, {".fail", fail, false}, {".stream", stream, true}}) {
    auto sub = is_stream ? bus.handle_stream(name + suffix, handler, options)
                         : bus.handle_invoke(name + suffix, handler, options);
    if (!sub.ok()) return ::testing::AssertionFailure() << "serve " << name << suffix << ": " << sub.status().to_string();
    subscriptions_.push_back(std::move(sub).value());
  }
  // Make sure the server registered the subscriptions before a peer sends requests.
  Status flushed = bus.transport().flush(std::chrono::seconds(5));
  if (!flushed.ok()) return ::testing::AssertionFailure() << "flush: " << flushed.to_string();
  return ::testing::AssertionSuccess();
}

// ---- streams -------------------------------------------------------------------------

StreamResult collect_stream(Bus& bus, const std::string& target, Envelope request, CallOptions options) {
  StreamResult out;
  auto stream = bus.stream_invoke(target, std::move(request), options);
  if (!stream.ok()) {
    out.start_status = stream.status();
    return out;
  }
  out.started = true;
  out.request_id = (*stream)->request_id();
  for (;;) {
    auto frame = (*stream)->next();
    if (!frame.ok()) {
      out.end = frame.status();
      break;
    }
    if (!frame->has_value()) break;
    out.frames.push_back(std::move(**frame));
  }
  return out;
}

// ---- fixture -------------------------------------------------------------------------

void PythonInteropTest::SetUp() {
  if (std::string problem = python_venv_problem(); !problem.empty()) FAIL() << problem;
  ASSERT_TRUE(nats_.start());
}

BusOptions PythonInteropTest::bus_options(const std::string& agent_id, const std::string& tenant) {
  BusOptions options;
  options.agent_id = agent_id;
  options.tenant = tenant;
  options.default_timeout = kCallTimeout;
  return options;
}

std::unique_ptr<Bus> PythonInteropTest::open_bus(BusOptions options, bool shared_reply_inbox) {
  NatsOptions nats_options;
  nats_options.servers = {nats_.url()};
  nats_options.shared_reply_inbox = shared_reply_inbox;
  nats_options.name = options.agent_id;
  auto transport = connect_nats(nats_options);
  if (!transport.ok()) {
    ADD_FAILURE() << "connect " << nats_.url() << ": " << transport.status().to_string();
    return nullptr;
  }
  auto bus = Bus::open(std::move(transport).value(), std::move(options));
  if (!bus.ok()) {
    ADD_FAILURE() << "Bus::open: " << bus.status().to_string();
    return nullptr;
  }
  return std::move(bus).value();
}

std::unique_ptr<PythonPeer> PythonInteropTest::serve_py(const std::string& agent_id, std::vector<std::string> args) {
  args.insert(args.begin(), {"--agent-id", agent_id});
  return PythonPeer::start("serve", nats_.url(), args);
}

std::unique_ptr<PythonPeer> PythonInteropTest::call_py(const std::string& agent_id, std::vector<std::string> args) {
  args.insert(args.begin(), {"--agent-id", agent_id});
  return PythonPeer::start("call", nats_.url(), args);
}

}  // namespace oaio::test
