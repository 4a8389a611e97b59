// Interop, C++ client -> Python server: our Bus calls targets served by the reference
// OpenAgentIO Python SDK (openagentio==0.3.0, tests/interop/python/peer.py) over a real
// nats-server (WIRE.md section 12). The reverse direction is in
// python_sdk_server_interop_test.cc. Needs <repo>/.venv: scripts/setup_python.sh.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "oaio/bus.h"
#include "support/python_interop.h"
#include "support/test_util.h"

namespace oaio::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// A request with every context field set, and metadata holding business keys next to
// a reserved acp.* key (which replies must drop).
Envelope context_request(std::string payload_json) {
  Envelope req = make_envelope(event_type::kMessageReceived, std::move(payload_json));
  req.session_id = "sess-42";
  req.conversation_id = "conv-7";
  req.user_id = "user-9";
  req.channel = "web";
  req.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  req.span_id = "00f067aa0ba902b7";
  req.traceparent = kTraceparent;
  req.metadata = metadata_from({{"biz.key", "v1"}, {"dingtalk.chat", {{"id", 7}}}, {"acp.retry.attempt", 1}});
  return req;
}

// The reply-shell fields (WIRE.md section 4) every frame answering `req` must carry.
void expect_reply_shell(const Envelope& frame, const Envelope& req, const std::string& request_id,
                        const std::string& server_id, const std::string& client_id) {
  SCOPED_TRACE(envelope_json(frame).dump());
  EXPECT_EQ(frame.correlation_id, request_id);
  EXPECT_EQ(frame.from, server_id);
  EXPECT_EQ(frame.to, client_id);
  EXPECT_EQ(frame.session_id, req.session_id);
  EXPECT_EQ(frame.conversation_id, req.conversation_id);
  EXPECT_EQ(frame.user_id, req.user_id);
  EXPECT_EQ(frame.channel, req.channel);
  EXPECT_EQ(frame.trace_id, req.trace_id);
  EXPECT_EQ(frame.span_id, req.span_id);
  EXPECT_EQ(frame.traceparent, req.traceparent);
  EXPECT_TRUE(frame.reply_to.empty());
  EXPECT_EQ(metadata_json(frame), (json{{"biz.key", "v1"}, {"dingtalk.chat", {{"id", 7}}}}));
  EXPECT_NE(frame.event_id, request_id);
  EXPECT_FALSE(frame.occurred_at.empty());
}

std::vector<std::string> event_types(const std::vector<Envelope>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(f.event_type);
  return out;
}

class CppClientPythonServerTest : public PythonInteropTest {};

// ---- invoke ----------------------------------------------------------------------------

TEST_F(CppClientPythonServerTest, InvokeEchoRoundTripWithReplyShell) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  Envelope req = context_request(R"({"question":"ping","n":[1,2.5,true,null]})");
  auto reply = bus->invoke("py.echo", req);
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();

  EXPECT_EQ(reply->event_type, event_type::kResponseFinal);
  EXPECT_TRUE(reply->is_final);
  EXPECT_EQ(reply->seq, 0u);
  EXPECT_TRUE(reply_status(*reply).ok());
  expect_reply_shell(*reply, req, req.event_id, "py-server", "cpp-client");

  json body = payload_json(*reply);
  EXPECT_EQ(body["echo"], json::parse(R"({"question":"ping","n":[1,2.5,true,null]})"));
  EXPECT_EQ(body["served_by"], "py-server");
  // What the Python SDK decoded from our request.
  const json& seen = body["request"];
  EXPECT_EQ(seen["event_id"], req.event_id);
  EXPECT_EQ(seen["event_type"], "agent.message.received");
  EXPECT_EQ(seen["from"], "cpp-client");
  EXPECT_EQ(seen["to"], "py.echo");
  EXPECT_EQ(seen["session_id"], "sess-42");
  EXPECT_EQ(seen["conversation_id"], "conv-7");
  EXPECT_EQ(seen["traceparent"], kTraceparent);
  EXPECT_EQ(seen["metadata"], (json{{"biz.key", "v1"}, {"dingtalk.chat", {{"id", 7}}}, {"acp.retry.attempt", 1}}));
  EXPECT_EQ(seen.value("reply_to", "").rfind("_INBOX.", 0), 0u) << seen.dump();
  EXPECT_FALSE(seen.contains("tenant_id"));
}

TEST_F(CppClientPythonServerTest, InvokeBarePayloadAndSilentHandler) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  auto reply = bus->invoke_payload("py.echo", "[1,2,3]");
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  json body = payload_json(*reply);
  EXPECT_EQ(body["echo"], json::parse("[1,2,3]"));
  EXPECT_EQ(body["request"]["from"], "cpp-client");
  EXPECT_EQ(body["request"]["to"], "py.echo");
  EXPECT_EQ(reply->to, "cpp-client");
  EXPECT_TRUE(reply->metadata.empty());

  // A handler returning None: final, is_final, and no payload key at all.
  auto silent = bus->invoke_payload("py.silent", "");
  ASSERT_TRUE(silent.ok()) << silent.status().to_string();
  EXPECT_EQ(silent->event_type, event_type::kResponseFinal);
  EXPECT_TRUE(silent->is_final);
  EXPECT_FALSE(silent->has_payload()) << silent->payload;
  auto record = py->expect("request");
  ASSERT_TRUE(record.has_value());
  auto silent_record = py->expect("request");
  ASSERT_TRUE(silent_record.has_value());
  EXPECT_EQ((*silent_record)["target"], "py.silent");
  EXPECT_FALSE((*silent_record)["request"].contains("payload"));  // no payload sent for ""
}

TEST_F(CppClientPythonServerTest, NonAsciiTextSurvivesPythonEscaping) {
  // Python writes every non-ASCII character as \uXXXX (emoji as surrogate pairs), so
  // this exercises our decoder on string fields and metadata, not just the payload.
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  const json payload = {{"text", "正在分析…"}, {"emoji", "🚀👍🏽"}, {"accents", "naïve café"}, {"键", "值"}};
  Envelope req = make_envelope(event_type::kMessageReceived, payload.dump());
  req.session_id = "会话-🚀";
  req.conversation_id = "对话 ✓";
  req.metadata = metadata_from({{"note", "分析中…"}, {"emoji.🙂", "😀"}});
  auto reply = bus->invoke("py.echo", req);
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();

  EXPECT_EQ(reply->session_id, "会话-🚀");
  EXPECT_EQ(reply->conversation_id, "对话 ✓");
  EXPECT_EQ(metadata_json(*reply), (json{{"note", "分析中…"}, {"emoji.🙂", "😀"}}));
  json body = payload_json(*reply);
  EXPECT_EQ(body["echo"], payload);
  EXPECT_EQ(body["request"]["session_id"], "会话-🚀");  // what Python decoded from our raw UTF-8
}

TEST_F(CppClientPythonServerTest, PayloadCloseToMaxPayload) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);
  ASSERT_EQ(bus->transport().capabilities().max_payload, 1048576u);

  std::string blob;
  for (size_t i = 0; blob.size() < 900 * 1024; ++i) blob += "chunk-" + std::to_string(i) + ";";
  CallOptions options;
  options.timeout = 30s;
  auto reply = bus->invoke_payload("py.echo", json{{"blob", blob}}.dump(), options);
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  EXPECT_GT(reply->payload.size(), 900u * 1024);
  json body = payload_json(*reply);
  ASSERT_TRUE(body["echo"].is_object());
  EXPECT_EQ(body["echo"]["blob"].get<std::string>().size(), blob.size());
  EXPECT_TRUE(body["echo"]["blob"] == blob);
}

TEST_F(CppClientPythonServerTest, ConcurrentInvokesGetTheirOwnReplies) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  constexpr int kCalls = 32;
  std::mutex mu;
  std::map<int, Result<Envelope>> replies;  // guarded by mu
  std::vector<std::string> ids(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    Envelope req = make_envelope(event_type::kMessageReceived, json{{"i", i}}.dump());
    ids[i] = req.event_id;
    bus->invoke_async("py.echo", req, {}, [&, i](Result<Envelope> r) {
      std::lock_guard<std::mutex> lock(mu);
      replies.emplace(i, std::move(r));
    });
  }
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lock(mu);
    return replies.size() == kCalls;
  }, 20s));
  std::lock_guard<std::mutex> lock(mu);
  for (auto& [i, reply] : replies) {
    ASSERT_TRUE(reply.ok()) << i << ": " << reply.status().to_string();
    EXPECT_EQ(reply->correlation_id, ids[i]);
    EXPECT_EQ(payload_json(*reply)["echo"]["i"], i);
  }
}

// NatsOptions::shared_reply_inbox: inboxes are "_INBOX.<id>.<n>" behind one wildcard
// subscription. The Python server answers to reply_to whatever its shape.
TEST_F(CppClientPythonServerTest, SharedReplyInboxWorksWithThePythonServer) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"), /*shared_reply_inbox=*/true);
  ASSERT_NE(bus, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto reply = bus->invoke("py.echo", make_envelope(event_type::kMessageReceived, json{{"i", i}}.dump()));
    ASSERT_TRUE(reply.ok()) << reply.status().to_string();
    EXPECT_EQ(payload_json(*reply)["echo"]["i"], i);
  }
  json script = {{"deltas", {{{"delta", "a"}}, {{"delta", "b"}}}}, {"final", {{"result", "ab"}}}};
  Envelope req = context_request(script.dump());
  StreamResult r = collect_stream(*bus, "py.stream", req);
  ASSERT_TRUE(r.started) << r.start_status.to_string();
  EXPECT_TRUE(r.end.ok()) << r.end.to_string();
  EXPECT_EQ(event_types(r.frames), (std::vector<std::string>{"agent.response.delta", "agent.response.delta",
                                                             "agent.response.final"}));
}

// ---- errors ----------------------------------------------------------------------------

TEST_F(CppClientPythonServerTest, PythonErrorsDecodeAsTypedStatus) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  struct Case {
    json raise;            // what peer.py raises (see its docstring)
    std::string code;      // expected wire code
    bool retryable;
    std::optional<std::string> message;  // nullopt: not checked
  };
  const std::vector<Case> cases = {
      {{{"raise", "bus"}, {"code", "INVALID_REQUEST"}, {"message", "bad field"}, {"retryable", false}},
       "INVALID_REQUEST", false, "bad field"},
      {{{"raise", "bus"}, {"code", "AGENT_TIMEOUT"}, {"message", "llm slow"}, {"retryable", true}},
       "AGENT_TIMEOUT", true, "llm slow"},
      {{{"raise", "bus"}, {"code", "AUTH_FAILURE"}, {"message", "no token"}, {"retryable", false}},
       "AUTH_FAILURE", false, "no token"},
      {{{"raise", "bus"}, {"code", "NO_HANDLER"}, {"message", "no tool"}, {"retryable", false}},
       "NO_HANDLER", false, "no tool"},
      {{{"raise", "bus"}, {"code", "BACKPRESSURE_DROP"}, {"message", "full"}, {"retryable", true}},
       "BACKPRESSURE_DROP", true, "full"},
      {{{"raise", "bus"}, {"code", "TRANSPORT_FAILURE"}, {"message", "upstream 503"}, {"retryable", true}},
       "TRANSPORT_FAILURE", true, "upstream 503"},
      {{{"raise", "bus"}, {"code", "CODEC_FAILURE"}, {"message", "bad json"}, {"retryable", false}},
       "CODEC_FAILURE", false, "bad json"},
      {{{"raise", "bus"}, {"code", "AGENT_UNAVAILABLE"}, {"message", "down"}, {"retryable", false}},
       "AGENT_UNAVAILABLE", false, "down"},
      // A retryable flag that differs from the code's default is kept.
      {{{"raise", "bus"}, {"code", "INVALID_REQUEST"}, {"message", "try again"}, {"retryable", true}},
       "INVALID_REQUEST", true, "try again"},
      {{{"raise", "invalid"}, {"message", "typed class"}}, "INVALID_REQUEST", false, "typed class"},
      {{{"raise", "timeout"}, {"message", "upstream timed out"}}, "AGENT_TIMEOUT", true, "upstream timed out"},
      // str(asyncio.TimeoutError()) is "": Python sends "message":"" (only the code matters).
      {{{"raise", "timeout"}, {"message", ""}}, "AGENT_TIMEOUT", true, std::nullopt},
      {{{"raise", "plain"}, {"message", "boom: 失败"}}, "AGENT_UNAVAILABLE", false, "boom: 失败"},
      // A code outside the ACP set (e.g. the reference HTTP middleware's INTERNAL_ERROR).
      {{{"raise", "bus"}, {"code", "INTERNAL_ERROR"}, {"message", "odd"}, {"retryable", false}},
       "INTERNAL_ERROR", false, "odd"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.raise.dump());
    Envelope req = make_envelope(event_type::kMessageReceived, c.raise.dump());
    auto reply = bus->invoke("py.fail", req);
    ASSERT_TRUE(reply.ok()) << "an error reply is a value, not a local failure: " << reply.status().to_string();
    EXPECT_EQ(reply->event_type, event_type::kResponseError);
    EXPECT_TRUE(reply->is_final);
    EXPECT_EQ(reply->correlation_id, req.event_id);
    json body = payload_json(*reply);
    EXPECT_EQ(body["cause"], json::object()) << "Python always writes \"cause\":{}: " << body.dump();
    Status status = reply_status(*reply);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.code_name(), c.code);
    EXPECT_EQ(status.retryable(), c.retryable);
    if (c.message) {
      EXPECT_EQ(status.message(), *c.message);
    }
    if (c.code == "INTERNAL_ERROR") {
      EXPECT_EQ(status.code(), ErrorCode::kUnknown);
    }
  }
}

// ---- streams ---------------------------------------------------------------------------

TEST_F(CppClientPythonServerTest, StreamStartedDeltasFinalInOrder) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  json script = {{"started", {{"meta", {{"model", "m1"}}}}},
                 {"deltas", {{{"delta", "Hel"}}, {{"delta", "lo"}}, {{"delta", " 世界"}}, {{"delta", "!"}}}},
                 {"final", {{"result", {{"text", "Hello 世界!"}}}}}};
  Envelope req = context_request(script.dump());
  StreamResult r = collect_stream(*bus, "py.stream", req);
  ASSERT_TRUE(r.started) << r.start_status.to_string();
  EXPECT_TRUE(r.end.ok()) << r.end.to_string();
  EXPECT_EQ(r.request_id, req.event_id);

  ASSERT_EQ(event_types(r.frames),
            (std::vector<std::string>{"agent.response.started", "agent.response.delta", "agent.response.delta",
                                      "agent.response.delta", "agent.response.delta", "agent.response.final"}));
  for (size_t i = 0; i < r.frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    EXPECT_EQ(r.frames[i].seq, i);
    EXPECT_EQ(r.frames[i].is_final, i + 1 == r.frames.size());
    expect_reply_shell(r.frames[i], req, r.request_id, "py-server", "cpp-client");
  }
  EXPECT_EQ(payload_json(r.frames[0]), (json{{"meta", {{"model", "m1"}}}}));
  EXPECT_EQ(payload_json(r.frames[3]), (json{{"delta", " 世界"}}));
  EXPECT_EQ(payload_json(r.frames[5]), (json{{"result", {{"text", "Hello 世界!"}}}}));
}

TEST_F(CppClientPythonServerTest, StreamDeltaFirstWithoutStarted) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  json script = {{"deltas", {{{"delta", "a"}}, {{"data", {{"k", 1}}}}}}, {"final", {{"result", json::object()}}}};
  StreamResult r = collect_stream(*bus, "py.stream", make_envelope(event_type::kMessageReceived, script.dump()));
  ASSERT_TRUE(r.started) << r.start_status.to_string();
  EXPECT_TRUE(r.end.ok()) << r.end.to_string();
  ASSERT_EQ(event_types(r.frames), (std::vector<std::string>{"agent.response.delta", "agent.response.delta",
                                                             "agent.response.final"}));
  EXPECT_EQ(r.frames[0].seq, 0u);  // seq 0 is a delta: no started frame
  EXPECT_EQ(payload_json(r.frames[0]), (json{{"delta", "a"}}));
  EXPECT_EQ(r.frames[2].seq, 2u);
}

TEST_F(CppClientPythonServerTest, StreamAutomaticFinalWithoutPayload) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  json script = {{"deltas", {{{"delta", "only"}}}}, {"end", "return"}};
  StreamResult r = collect_stream(*bus, "py.stream", make_envelope(event_type::kMessageReceived, script.dump()));
  ASSERT_TRUE(r.started) << r.start_status.to_string();
  EXPECT_TRUE(r.end.ok()) << r.end.to_string();
  ASSERT_EQ(event_types(r.frames), (std::vector<std::string>{"agent.response.delta", "agent.response.final"}));
  EXPECT_TRUE(r.frames[1].is_final);
  EXPECT_EQ(r.frames[1].seq, 1u);
  EXPECT_FALSE(r.frames[1].has_payload()) << r.frames[1].payload;

  // A handler that returns at once: the automatic final is the only frame (seq 0).
  StreamResult empty = collect_stream(*bus, "py.stream",
                                      make_envelope(event_type::kMessageReceived, R"({"end":"return"})"));
  EXPECT_TRUE(empty.end.ok()) << empty.end.to_string();
  ASSERT_EQ(event_types(empty.frames), (std::vector<std::string>{"agent.response.final"}));
  EXPECT_FALSE(empty.frames[0].has_payload());
}

TEST_F(CppClientPythonServerTest, StreamErrorTerminal) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  json typed = {{"started", {{"meta", json::object()}}},
                {"deltas", {{{"delta", "partial"}}}},
                {"end", "raise"},
                {"error", {{"raise", "bus"}, {"code", "BACKPRESSURE_DROP"}, {"message", "queue full"},
                           {"retryable", true}}}};
  StreamResult r = collect_stream(*bus, "py.stream", make_envelope(event_type::kMessageReceived, typed.dump()));
  ASSERT_TRUE(r.started) << r.start_status.to_string();
  EXPECT_TRUE(r.end.ok()) << "an error frame ends the stream normally: " << r.end.to_string();
  ASSERT_EQ(event_types(r.frames), (std::vector<std::string>{"agent.response.started", "agent.response.delta",
                                                             "agent.response.error"}));
  const Envelope& last = r.frames.back();
  EXPECT_TRUE(last.is_final);
  EXPECT_EQ(last.seq, 2u);
  Status status = reply_status(last);
  EXPECT_EQ(status.code(), ErrorCode::kBackpressureDrop);
  EXPECT_TRUE(status.retryable());
  EXPECT_EQ(status.message(), "queue full");

  json plain = {{"end", "raise"}, {"error", {{"raise", "plain"}, {"message", "handler crashed"}}}};
  StreamResult p = collect_stream(*bus, "py.stream", make_envelope(event_type::kMessageReceived, plain.dump()));
  EXPECT_TRUE(p.end.ok()) << p.end.to_string();
  ASSERT_EQ(event_types(p.frames), (std::vector<std::string>{"agent.response.error"}));
  EXPECT_EQ(reply_status(p.frames[0]).code(), ErrorCode::kAgentUnavailable);
  EXPECT_FALSE(reply_status(p.frames[0]).retryable());
  EXPECT_EQ(reply_status(p.frames[0]).message(), "handler crashed");
}

TEST_F(CppClientPythonServerTest, AsyncStreamApiAndIdleTimeout) {
  auto py = serve_py("py-server");
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  // The callback form of StreamInvoke sees the same frames in the same order.
  std::mutex mu;
  std::vector<Envelope> frames;    // guarded by mu
  std::optional<Status> end;       // guarded by mu
  json script = {{"started", {{"meta", json::object()}}}, {"deltas", {{{"delta", "x"}}, {{"delta", "y"}}}}};
  bus->stream_invoke_async(
      "py.stream", make_envelope(event_type::kMessageReceived, script.dump()), {},
      [&](const Envelope& f) {
        std::lock_guard<std::mutex> lock(mu);
        frames.push_back(f);
        return true;
      },
      [&](const Status& s) {
        std::lock_guard<std::mutex> lock(mu);
        end = s;
      });
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lock(mu);
    return end.has_value();
  }, 15s));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(end->ok()) << end->to_string();
    EXPECT_EQ(event_types(frames), (std::vector<std::string>{"agent.response.started", "agent.response.delta",
                                                             "agent.response.delta", "agent.response.final"}));
  }

  // A Python handler that stalls longer than the idle timeout: local AGENT_TIMEOUT.
  CallOptions idle;
  idle.idle_timeout = 300ms;
  json stalled = {{"deltas", {{{"delta", "1"}}, {{"delta", "2"}}}}, {"delay_ms", 1500}};
  auto start = std::chrono::steady_clock::now();
  StreamResult r = collect_stream(*bus, "py.stream", make_envelope(event_type::kMessageReceived, stalled.dump()), idle);
  ASSERT_TRUE(r.started) << r.start_status.to_string();
  EXPECT_EQ(r.end.code(), ErrorCode::kAgentTimeout) << r.end.to_string();
  EXPECT_TRUE(r.frames.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1400ms);
}

// ---- extensions ------------------------------------------------------------------------

TEST_F(CppClientPythonServerTest, ExtensionsOnBehaveAsWithoutThem) {
  // [E1] fast-fail, [E2] cancel and [E3] heartbeats are on; the Python server knows
  // none of them. The raw subscriptions show the wire: the NATS reply subject of the
  // request ([E1]) and every message sent to reply inboxes.
  // (Exact subjects: a wildcard monitor on invoke subjects would suppress the [E1] 503.)
  auto py = serve_py("py-server", {"--raw-subscribe", "acp.v1.invoke.py.echo", "--raw-subscribe", "_INBOX.>"});
  ASSERT_NE(py, nullptr);
  BusOptions options = bus_options("cpp-client");
  options.fast_fail_no_handler = true;
  auto bus = open_bus(options);
  ASSERT_NE(bus, nullptr);

  // Invoke: exactly one reply although the request also carries a NATS reply subject.
  auto reply = bus->invoke_payload("py.echo", R"({"x":1})");
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  std::string inbox = payload_json(*reply)["request"].value("reply_to", "");
  auto request_raw = py->take([&](const json& l) { return l["kind"] == "raw" && l["subject"] == "acp.v1.invoke.py.echo"; },
                              10s);
  ASSERT_TRUE(request_raw.has_value());
  ASSERT_TRUE(bus->transport().capabilities().no_responders) << "nats-server supports headers: [E1] must be on";
  EXPECT_EQ((*request_raw)["reply"], inbox) << "[E1] sets the NATS reply subject to the inbox";
  auto inbox_messages = [&](const std::string& subject, std::chrono::milliseconds window) {
    std::vector<json> out;
    while (auto l = py->take([&](const json& x) { return x["kind"] == "raw" && x["subject"] == subject; }, window))
      out.push_back(*l);
    return out;
  };
  EXPECT_EQ(inbox_messages(inbox, 300ms).size(), 1u) << "the Python server must answer once";

  // Stream: gaps of 400 ms > 3 x 250 ms heartbeat; no heartbeat ever comes, and the
  // stream must still complete (liveness only starts at a first heartbeat).
  CallOptions call;
  call.heartbeat = 250ms;
  call.cancel_on_abandon = true;
  json script = {{"started", {{"meta", json::object()}}},
                 {"deltas", {{{"delta", "a"}}, {{"delta", "b"}}, {{"delta", "c"}}}},
                 {"delay_ms", 400},
                 {"final", {{"result", {{"ok", true}}}}}};
  Envelope req = make_envelope(event_type::kMessageReceived, script.dump());
  req.metadata = metadata_from({{"biz.key", "v1"}});
  StreamResult r = collect_stream(*bus, "py.stream", req, call);
  ASSERT_TRUE(r.started) << r.start_status.to_string();
  EXPECT_TRUE(r.end.ok()) << r.end.to_string();
  ASSERT_EQ(r.frames.size(), 5u);
  for (const Envelope& f : r.frames) {
    EXPECT_EQ(metadata_json(f), (json{{"biz.key", "v1"}})) << "acp.* keys must not come back";
  }

  // The opt-ins really were on the wire; the Python SDK simply ignored them.
  auto record = py->take([&](const json& l) { return l["kind"] == "request" && l["target"] == "py.stream"; }, 10s);
  ASSERT_TRUE(record.has_value());
  const json& md = (*record)["request"]["metadata"];
  EXPECT_EQ(md.value("acp.cancel", json()), true) << md.dump();
  EXPECT_EQ(md.value("acp.heartbeat_ms", json()), 250) << md.dump();
  std::string stream_inbox = (*record)["request"].value("reply_to", "");
  auto frames = inbox_messages(stream_inbox, 300ms);
  EXPECT_EQ(frames.size(), 5u);
  for (const json& raw : frames) {
    json env = json::parse(raw["data"].get<std::string>());
    EXPECT_NE(env["event_type"], "agent.response.heartbeat");
  }
  EXPECT_TRUE(inbox_messages(stream_inbox + ".cancel", 100ms).empty()) << "no cancel after a completed stream";

  // [E1] against an unserved target: NO_HANDLER at once instead of a timeout.
  auto start = std::chrono::steady_clock::now();
  auto missing = bus->invoke_payload("nobody.absent", "{}");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNoHandler) << missing.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(CppClientPythonServerTest, AbandonedStreamSendsCancelThatPythonIgnores) {
  auto py = serve_py("py-server", {"--raw-subscribe", "_INBOX.>"});
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-client"));
  ASSERT_NE(bus, nullptr);

  json script = {{"deltas", {{{"delta", "1"}}, {{"delta", "2"}}, {{"delta", "3"}}}}, {"delay_ms", 200}};
  CallOptions call;
  call.cancel_on_abandon = true;
  auto stream = bus->stream_invoke("py.stream", make_envelope(event_type::kMessageReceived, script.dump()), call);
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  auto first = (*stream)->next();
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->event_type, event_type::kResponseDelta);
  const std::string request_id = (*stream)->request_id();
  (*stream)->cancel("test abandons the stream");
  auto after = (*stream)->next();
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), ErrorCode::kInvalidRequest);

  auto record = py->take([](const json& l) { return l["kind"] == "request"; }, 10s);
  ASSERT_TRUE(record.has_value());
  const std::string cancel_subject = (*record)["request"].value("reply_to", "") + ".cancel";
  auto cancel = py->take([&](const json& l) { return l["kind"] == "raw" && l["subject"] == cancel_subject; }, 10s);
  ASSERT_TRUE(cancel.has_value()) << "no [E2] cancel on " << cancel_subject;
  json env = json::parse((*cancel)["data"].get<std::string>());
  EXPECT_EQ(env["event_type"], "agent.request.cancel");
  EXPECT_EQ(env["correlation_id"], request_id);
  EXPECT_EQ(env["from"], "cpp-client");
  EXPECT_EQ(env["to"], "py.stream");
  for (const char* absent : {"frame_type", "reply_to", "seq", "is_final"}) EXPECT_FALSE(env.contains(absent)) << absent;

  // The reference server does not listen for cancels: its handler runs to the end.
  auto done = py->take([&](const json& l) { return l["kind"] == "stream_done" && l["request_id"] == request_id; }, 10s);
  EXPECT_TRUE(done.has_value()) << "the Python handler should have finished normally";
}

// ---- pub/sub -----------------------------------------------------------------------------

TEST_F(CppClientPythonServerTest, PublishFansOutToPythonSubscribersAndQueueGroup) {
  // Python subscribers 0 and 1 get everything; 2 and 3 share the queue group "workers".
  auto py = serve_py("py-subscriber", {"--subscribe", "interop.note", "--subscribe", "interop.note", "--subscribe",
                                       "interop.note@workers", "--subscribe", "interop.note@workers",
                                       "--raw-subscribe", "acp.v1.events.interop.note"});
  ASSERT_NE(py, nullptr);
  auto bus = open_bus(bus_options("cpp-publisher"));
  ASSERT_NE(bus, nullptr);

  constexpr int kEvents = 10;
  for (int i = 0; i < kEvents; ++i) {
    Envelope ev = make_envelope("interop.note", json{{"n", i}, {"text", "事件"}}.dump());
    if (i == 0) ev.reply_to = "_INBOX.cpp.custom-reply";
    ASSERT_TRUE(bus->publish(ev).ok());
  }
  ASSERT_TRUE(bus->transport().flush(5s).ok());

  std::map<int, std::vector<int>> by_sub;  // subscriber index -> n values in arrival order
  for (int received = 0; received < 3 * kEvents; ++received) {
    auto line = py->expect("event", 10s);
    ASSERT_TRUE(line.has_value()) << "got " << received << " of " << 3 * kEvents << " deliveries";
    const json& ev = (*line)["event"];
    EXPECT_EQ(ev["event_type"], "interop.note");
    EXPECT_EQ(ev["payload"]["text"], "事件");
    EXPECT_FALSE(ev.contains("from")) << "publish must not fill from";
    by_sub[(*line)["sub"].get<int>()].push_back(ev["payload"]["n"].get<int>());
  }
  // No late duplicates for the queue group.
  EXPECT_TRUE(py->drain("event", 300ms).empty());

  std::vector<int> all;
  for (int i = 0; i < kEvents; ++i) all.push_back(i);
  EXPECT_EQ(by_sub[0], all);
  EXPECT_EQ(by_sub[1], all);
  std::multiset<int> group(by_sub[2].begin(), by_sub[2].end());
  group.insert(by_sub[3].begin(), by_sub[3].end());
  EXPECT_EQ(group, std::multiset<int>(all.begin(), all.end())) << "each event exactly once in the queue group";

  // On the wire: reply_to travels as the NATS reply subject; no frame_type is added.
  auto first = py->take([](const json& l) {
    return l["kind"] == "raw" && json::parse(l["data"].get<std::string>())["payload"]["n"] == 0;
  }, 5s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)["reply"], "_INBOX.cpp.custom-reply");
  json wire = json::parse((*first)["data"].get<std::string>());
  EXPECT_EQ(wire["reply_to"], "_INBOX.cpp.custom-reply");
  EXPECT_FALSE(wire.contains("frame_type"));
  EXPECT_FALSE(wire.contains("from"));
}

// ---- tenants -----------------------------------------------------------------------------

TEST_F(CppClientPythonServerTest, TenantRequestsReachOnlyThatTenantsServers) {
  auto acme = serve_py("py-acme", {"--tenant", "acme", "--targets", "t", "--subscribe", "interop.tnote"});
  ASSERT_NE(acme, nullptr);
  auto globex = serve_py("py-globex", {"--tenant", "globex", "--targets", "t", "--subscribe", "interop.tnote"});
  ASSERT_NE(globex, nullptr);

  // The configured tenant selects the subject.
  auto acme_bus = open_bus(bus_options("cpp-acme", "acme"));
  ASSERT_NE(acme_bus, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto reply = acme_bus->invoke_payload("t.echo", "{}");
    ASSERT_TRUE(reply.ok()) << reply.status().to_string();
    EXPECT_EQ(payload_json(*reply)["served_by"], "py-acme");
    EXPECT_EQ(reply->tenant_id, "acme");
    EXPECT_EQ(payload_json(*reply)["request"]["tenant_id"], "acme");
  }

  // An envelope's own tenant_id wins over the (absent) configured tenant.
  auto plain_bus = open_bus(bus_options("cpp-plain"));
  ASSERT_NE(plain_bus, nullptr);
  Envelope req = make_envelope(event_type::kMessageReceived, "{}");
  req.tenant_id = "globex";
  auto reply = plain_bus->invoke("t.echo", req);
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  EXPECT_EQ(payload_json(*reply)["served_by"], "py-globex");
  EXPECT_EQ(reply->tenant_id, "globex");

  // No server for the tenant (or for no tenant): NO_HANDLER at once with [E1] ...
  auto initech_bus = open_bus(bus_options("cpp-initech", "initech"));
  ASSERT_NE(initech_bus, nullptr);
  for (Bus* bus : {initech_bus.get(), plain_bus.get()}) {
    auto start = std::chrono::steady_clock::now();
    auto missing = bus->invoke_payload("t.echo", "{}");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), ErrorCode::kNoHandler) << missing.status().to_string();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  }
  // ... and a timeout without it.
  BusOptions no_e1 = bus_options("cpp-initech-2", "initech");
  no_e1.fast_fail_no_handler = false;
  auto slow_bus = open_bus(no_e1);
  ASSERT_NE(slow_bus, nullptr);
  CallOptions short_timeout;
  short_timeout.timeout = 300ms;
  auto timed_out = slow_bus->invoke_payload("t.echo", "{}", short_timeout);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.status().code(), ErrorCode::kAgentTimeout) << timed_out.status().to_string();
  EXPECT_TRUE(timed_out.status().retryable());

  // Tenant-scoped publish reaches only that tenant's subscribers.
  ASSERT_TRUE(acme_bus->publish("interop.tnote", R"({"for":"acme"})").ok());
  ASSERT_TRUE(acme_bus->transport().flush(5s).ok());
  auto event = acme->expect("event", 10s);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["event"]["payload"]["for"], "acme");
  EXPECT_EQ((*event)["event"].value("tenant_id", ""), "");  // publish does not fill tenant_id
  EXPECT_TRUE(globex->drain("event", 300ms).empty());
  // Requests: acme served 3, globex 1.
  EXPECT_EQ(acme->drain("request", 100ms).size(), 3u);
  EXPECT_EQ(globex->drain("request", 100ms).size(), 1u);
}

// ---- mixed replicas ------------------------------------------------------------------------

TEST_F(CppClientPythonServerTest, MixedCppAndPythonReplicasHandleEachRequestOnce) {
  auto py = serve_py("py-replica", {"--targets", "mixed"});
  ASSERT_NE(py, nullptr);
  auto server_bus = open_bus(bus_options("cpp-replica"));
  ASSERT_NE(server_bus, nullptr);
  CppTargets cpp;
  ASSERT_TRUE(cpp.serve(*server_bus, "mixed"));
  auto client = open_bus(bus_options("cpp-client"));
  ASSERT_NE(client, nullptr);

  constexpr int kRequests = 24;
  std::map<std::string, int> served_by;
  std::set<std::string> request_ids;
  for (int i = 0; i < kRequests; ++i) {
    Envelope req = make_envelope(event_type::kMessageReceived, json{{"i", i}}.dump());
    request_ids.insert(req.event_id);
    auto reply = client->invoke("mixed.echo", req);
    ASSERT_TRUE(reply.ok()) << reply.status().to_string();
    served_by[payload_json(*reply)["served_by"].get<std::string>()]++;
  }
  EXPECT_EQ(served_by["py-replica"] + served_by["cpp-replica"], kRequests);
  EXPECT_GT(served_by["py-replica"], 0) << "the queue group should spread requests";
  EXPECT_GT(served_by["cpp-replica"], 0) << "the queue group should spread requests";

  // Every request was handled exactly once, across both replicas.
  std::multiset<std::string> handled;
  for (const Envelope& r : cpp.requests()) handled.insert(r.event_id);
  for (const json& l : py->drain("request", 300ms)) handled.insert(l["request"]["event_id"].get<std::string>());
  EXPECT_EQ(handled, std::multiset<std::string>(request_ids.begin(), request_ids.end()));
}

}  // namespace
}  // namespace oaio::test
