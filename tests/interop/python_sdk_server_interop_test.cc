// Interop, Python client -> C++ server: the reference OpenAgentIO Python SDK
// (openagentio==0.3.0, tests/interop/python/peer.py "call") invokes, streams from and
// publishes to targets served by our Bus over a real nats-server (WIRE.md section 12).
// Needs <repo>/.venv: scripts/setup_python.sh.
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "oaio/bus.h"
#include "oaio/transport.h"
#include "support/python_interop.h"
#include "support/test_util.h"

namespace oaio::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class PythonClientCppServerTest : public PythonInteropTest {
 protected:
  // A C++ server bus "cpp-server" serving cpp.echo/.silent/.fail/.stream.
  void SetUp() override {
    PythonInteropTest::SetUp();
    if (HasFatalFailure()) return;
    BusOptions options = bus_options("cpp-server");
    options.fast_fail_no_handler = false;  // nested calls time out (see .fail)
    server_ = open_bus(options);
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(targets_.serve(*server_, "cpp"));
    client_ = call_py("py-client");
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    client_.reset();
    targets_.stop();
    server_.reset();
  }

  static json invoke_cmd(const std::string& target, json payload) {
    return {{"op", "invoke"}, {"target", target}, {"payload", std::move(payload)}};
  }
  static json stream_cmd(const std::string& target, json payload) {
    return {{"op", "stream"}, {"target", target}, {"payload", std::move(payload)}};
  }
  // The frames of a Python stream command; its last line must be {"kind":"end"}.
  std::vector<json> py_stream(const json& command) {
    auto lines = client_->call(command);
    if (!lines) return {};
    EXPECT_EQ(lines->back()["kind"], "end") << lines->back().dump();
    std::vector<json> frames;
    for (const json& l : *lines)
      if (l["kind"] == "frame") frames.push_back(l["frame"]);
    return frames;
  }

  std::unique_ptr<Bus> server_;
  CppTargets targets_;
  std::unique_ptr<PythonPeer> client_;
};

std::vector<std::string> event_types(const std::vector<json>& frames) {
  std::vector<std::string> out;
  for (const json& f : frames) out.push_back(f.value("event_type", ""));
  return out;
}

// ---- invoke ----------------------------------------------------------------------------

TEST_F(PythonClientCppServerTest, InvokeEchoRoundTripWithReplyShell) {
  // A non-UUID event_id: correlation ids are opaque.
  json envelope = {{"event_id", "py-request-0001"},
                   {"session_id", "sess-42"},
                   {"conversation_id", "conv-7"},
                   {"user_id", "user-9"},
                   {"channel", "web"},
                   {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"},
                   {"span_id", "00f067aa0ba902b7"},
                   {"traceparent", kTraceparent},
                   {"metadata", {{"biz.key", "v1"}, {"dingtalk.chat", {{"id", 7}}}, {"acp.retry.attempt", 1}}},
                   {"payload", {{"question", "ping"}, {"n", {1, 2.5, true, nullptr}}}}};
  auto line = client_->call1({{"op", "invoke"}, {"target", "cpp.echo"}, {"envelope", envelope}});
  ASSERT_TRUE(line.has_value());
  ASSERT_EQ((*line)["kind"], "reply") << line->dump();
  const json& reply = (*line)["reply"];

  // What the Python SDK decoded from our reply.
  EXPECT_EQ(reply["event_type"], "agent.response.final");
  EXPECT_EQ(reply["is_final"], true);
  EXPECT_FALSE(reply.contains("seq"));
  EXPECT_FALSE(reply.contains("reply_to"));
  EXPECT_EQ(reply["correlation_id"], "py-request-0001");
  EXPECT_NE(reply["event_id"], "py-request-0001");
  EXPECT_EQ(reply["from"], "cpp-server");
  EXPECT_EQ(reply["to"], "py-client");
  for (const char* key : {"session_id", "conversation_id", "user_id", "channel", "trace_id", "span_id", "traceparent"})
    EXPECT_EQ(reply[key], envelope[key]) << key;
  EXPECT_EQ(reply["metadata"], (json{{"biz.key", "v1"}, {"dingtalk.chat", {{"id", 7}}}})) << "acp.* must be removed";
  EXPECT_EQ(reply["payload"]["echo"], envelope["payload"]);
  EXPECT_EQ(reply["payload"]["served_by"], "cpp-server");

  // What our server decoded from the Python request (which has no frame_type).
  auto requests = targets_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const Envelope& req = requests[0];
  EXPECT_EQ(req.event_id, "py-request-0001");
  EXPECT_EQ(req.event_type, event_type::kMessageReceived);
  EXPECT_EQ(effective_frame_type(req), "request");
  EXPECT_EQ(req.from, "py-client");
  EXPECT_EQ(req.to, "cpp.echo");
  EXPECT_EQ(req.reply_to.rfind("_INBOX.", 0), 0u) << req.reply_to;
  EXPECT_EQ(req.traceparent, kTraceparent);
  EXPECT_EQ(metadata_json(req), envelope["metadata"]);
}

TEST_F(PythonClientCppServerTest, InvokeBarePayloadAndSilentHandler) {
  auto line = client_->call1(invoke_cmd("cpp.echo", {1, 2, 3}));
  ASSERT_TRUE(line.has_value());
  ASSERT_EQ((*line)["kind"], "reply") << line->dump();
  EXPECT_EQ((*line)["reply"]["payload"]["echo"], json({1, 2, 3}));
  EXPECT_EQ((*line)["reply"]["payload"]["request"]["from"], "py-client");
  EXPECT_FALSE((*line)["reply"].contains("metadata"));

  auto silent = client_->call1({{"op", "invoke"}, {"target", "cpp.silent"}});
  ASSERT_TRUE(silent.has_value());
  ASSERT_EQ((*silent)["kind"], "reply") << silent->dump();
  EXPECT_EQ((*silent)["reply"]["event_type"], "agent.response.final");
  EXPECT_EQ((*silent)["reply"]["is_final"], true);
  EXPECT_FALSE((*silent)["reply"].contains("payload")) << silent->dump();
  auto requests = targets_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_FALSE(requests[1].has_payload()) << "Python sends no payload key for None";
}

TEST_F(PythonClientCppServerTest, NonAsciiTextFromPythonEscapes) {
  // Python sends every non-ASCII character as \uXXXX (emoji as surrogate pairs); our
  // decoder must turn them into UTF-8, and our raw UTF-8 reply must decode in Python.
  const json payload = {{"text", "正在分析…"}, {"emoji", "🚀👍🏽"}, {"accents", "naïve café"}, {"键", "值"}};
  json envelope = {{"session_id", "会话-🚀"},
                   {"conversation_id", "对话 ✓"},
                   {"metadata", {{"note", "分析中…"}, {"emoji.🙂", "😀"}}},
                   {"payload", payload}};
  auto line = client_->call1({{"op", "invoke"}, {"target", "cpp.echo"}, {"envelope", envelope}});
  ASSERT_TRUE(line.has_value());
  ASSERT_EQ((*line)["kind"], "reply") << line->dump();
  const json& reply = (*line)["reply"];
  EXPECT_EQ(reply["payload"]["echo"], payload);
  EXPECT_EQ(reply["session_id"], "会话-🚀");
  EXPECT_EQ(reply["conversation_id"], "对话 ✓");
  EXPECT_EQ(reply["metadata"], envelope["metadata"]);

  auto requests = targets_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].session_id, "会话-🚀");
  EXPECT_EQ(requests[0].conversation_id, "对话 ✓");
  EXPECT_EQ(metadata_json(requests[0]), envelope["metadata"]);
  EXPECT_EQ(payload_json(requests[0]), payload);
}

TEST_F(PythonClientCppServerTest, PayloadCloseToMaxPayload) {
  std::string blob;
  for (size_t i = 0; blob.size() < 900 * 1024; ++i) blob += "chunk-" + std::to_string(i) + ";";
  json cmd = invoke_cmd("cpp.echo", {{"blob", blob}});
  cmd["timeout"] = 30;
  auto line = client_->call1(cmd, 60s);
  ASSERT_TRUE(line.has_value());
  ASSERT_EQ((*line)["kind"], "reply") << line->dump().substr(0, 500);
  EXPECT_EQ((*line)["reply"]["event_type"], "agent.response.final");
  EXPECT_TRUE((*line)["reply"]["payload"]["echo"]["blob"] == blob);
}

// ---- errors ----------------------------------------------------------------------------

TEST_F(PythonClientCppServerTest, CppErrorsDecodeInPythonWithCodeAndRetryable) {
  struct Case {
    json spec;  // what cpp.fail returns (see CppTargets)
    std::string code;
    bool retryable;
  };
  const std::vector<Case> cases = {
      // Each of the 8 codes with its default retryable flag.
      {{{"code", "INVALID_REQUEST"}, {"message", "bad field"}}, "INVALID_REQUEST", false},
      {{{"code", "AGENT_TIMEOUT"}, {"message", "llm slow"}}, "AGENT_TIMEOUT", true},
      {{{"code", "AGENT_UNAVAILABLE"}, {"message", "down"}}, "AGENT_UNAVAILABLE", false},
      {{{"code", "BACKPRESSURE_DROP"}, {"message", "full"}}, "BACKPRESSURE_DROP", true},
      {{{"code", "TRANSPORT_FAILURE"}, {"message", "upstream 503"}}, "TRANSPORT_FAILURE", true},
      {{{"code", "CODEC_FAILURE"}, {"message", "bad json"}}, "CODEC_FAILURE", false},
      {{{"code", "AUTH_FAILURE"}, {"message", "no token"}}, "AUTH_FAILURE", false},
      {{{"code", "NO_HANDLER"}, {"message", "no tool"}}, "NO_HANDLER", false},
      // An explicit flag wins over the default.
      {{{"code", "INVALID_REQUEST"}, {"message", "try later"}, {"retryable", true}}, "INVALID_REQUEST", true},
      {{{"code", "AGENT_TIMEOUT"}, {"message", "give up"}, {"retryable", false}}, "AGENT_TIMEOUT", false},
      // An exception escaping the handler, and a nested call's timeout.
      {{{"throw", "boom: 失败"}}, "AGENT_UNAVAILABLE", false},
      {{{"nested_timeout_ms", 200}}, "AGENT_TIMEOUT", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec.dump());
    auto line = client_->call1(invoke_cmd("cpp.fail", c.spec));
    ASSERT_TRUE(line.has_value());
    ASSERT_EQ((*line)["kind"], "reply") << line->dump();
    const json& reply = (*line)["reply"];
    EXPECT_EQ(reply["event_type"], "agent.response.error");
    EXPECT_EQ(reply["is_final"], true);
    const json& error = reply["payload"];
    EXPECT_EQ(error["code"], c.code) << error.dump();
    EXPECT_EQ(error["retryable"], c.retryable) << error.dump();
    ASSERT_TRUE(error["message"].is_string());
    EXPECT_FALSE(error["message"].get<std::string>().empty());
    if (c.spec.contains("message")) {
      EXPECT_EQ(error["message"], c.spec["message"]);
    }
    if (c.spec.contains("throw")) {
      EXPECT_NE(error["message"].get<std::string>().find("boom: 失败"), std::string::npos);
    }
    if (error.contains("cause")) {
      EXPECT_TRUE(error["cause"].is_object());
    }
  }
}

// ---- streams ---------------------------------------------------------------------------

TEST_F(PythonClientCppServerTest, StreamStartedDeltasFinalInOrder) {
  json script = {{"started", {{"meta", {{"model", "m1"}}}}},
                 {"deltas", {{{"delta", "Hel"}}, {{"delta", "lo"}}, {{"delta", " 世界"}}, {{"delta", "!"}}}},
                 {"final", {{"result", {{"text", "Hello 世界!"}}}}}};
  json cmd = {{"op", "stream"},
              {"target", "cpp.stream"},
              {"envelope",
               {{"event_id", "py-stream-1"}, {"session_id", "sess-42"}, {"traceparent", kTraceparent},
                {"metadata", {{"biz.key", "v1"}, {"acp.retry.attempt", 2}}}, {"payload", script}}}};
  std::vector<json> frames = py_stream(cmd);
  ASSERT_EQ(event_types(frames),
            (std::vector<std::string>{"agent.response.started", "agent.response.delta", "agent.response.delta",
                                      "agent.response.delta", "agent.response.delta", "agent.response.final"}));
  for (size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE(frames[i].dump());
    EXPECT_EQ(frames[i].value("seq", 0u), i);
    EXPECT_EQ(frames[i].value("is_final", false), i + 1 == frames.size());
    EXPECT_EQ(frames[i]["correlation_id"], "py-stream-1");
    EXPECT_EQ(frames[i]["from"], "cpp-server");
    EXPECT_EQ(frames[i]["to"], "py-client");
    EXPECT_EQ(frames[i]["session_id"], "sess-42");
    EXPECT_EQ(frames[i]["traceparent"], kTraceparent);
    EXPECT_EQ(frames[i]["metadata"], (json{{"biz.key", "v1"}}));
  }
  EXPECT_EQ(frames[0]["payload"], (json{{"meta", {{"model", "m1"}}}}));
  EXPECT_EQ(frames[3]["payload"], (json{{"delta", " 世界"}}));
  EXPECT_EQ(frames[5]["payload"], (json{{"result", {{"text", "Hello 世界!"}}}}));
}

TEST_F(PythonClientCppServerTest, StreamDeltaFirstWithoutStarted) {
  json script = {{"deltas", {{{"delta", "a"}}, {{"data", {{"k", 1}}}}}}, {"final", {{"result", json::object()}}}};
  std::vector<json> frames = py_stream(stream_cmd("cpp.stream", script));
  ASSERT_EQ(event_types(frames),
            (std::vector<std::string>{"agent.response.delta", "agent.response.delta", "agent.response.final"}));
  EXPECT_FALSE(frames[0].contains("seq"));  // seq 0
  EXPECT_EQ(frames[1]["seq"], 1);
  EXPECT_EQ(frames[2]["seq"], 2);
  EXPECT_EQ(frames[1]["payload"], (json{{"data", {{"k", 1}}}}));
}

TEST_F(PythonClientCppServerTest, StreamAutomaticFinalWithoutPayload) {
  std::vector<json> frames = py_stream(stream_cmd("cpp.stream", {{"deltas", {{{"delta", "only"}}}}, {"end", "return"}}));
  ASSERT_EQ(event_types(frames), (std::vector<std::string>{"agent.response.delta", "agent.response.final"}));
  EXPECT_EQ(frames[1]["seq"], 1);
  EXPECT_EQ(frames[1]["is_final"], true);
  EXPECT_FALSE(frames[1].contains("payload")) << frames[1].dump();

  std::vector<json> empty = py_stream(stream_cmd("cpp.stream", {{"end", "return"}}));
  ASSERT_EQ(event_types(empty), (std::vector<std::string>{"agent.response.final"}));
  EXPECT_FALSE(empty[0].contains("payload"));
}

TEST_F(PythonClientCppServerTest, StreamErrorTerminal) {
  json script = {{"started", {{"meta", json::object()}}},
                 {"deltas", {{{"delta", "partial"}}}},
                 {"end", "raise"},
                 {"error", {{"code", "BACKPRESSURE_DROP"}, {"message", "queue full"}}}};
  std::vector<json> frames = py_stream(stream_cmd("cpp.stream", script));
  ASSERT_EQ(event_types(frames), (std::vector<std::string>{"agent.response.started", "agent.response.delta",
                                                           "agent.response.error"}));
  const json& last = frames.back();
  EXPECT_EQ(last["seq"], 2);
  EXPECT_EQ(last["is_final"], true);
  EXPECT_EQ(last["payload"]["code"], "BACKPRESSURE_DROP");
  EXPECT_EQ(last["payload"]["retryable"], true);
  EXPECT_EQ(last["payload"]["message"], "queue full");
}

// ---- pub/sub -----------------------------------------------------------------------------

TEST_F(PythonClientCppServerTest, PythonPublishFansOutToCppSubscribersAndQueueGroup) {
  std::mutex mu;
  std::map<int, std::vector<int>> by_sub;  // guarded by mu
  std::string seen_reply_to;               // guarded by mu
  std::vector<Subscription> subs;
  for (int index = 0; index < 4; ++index) {
    SubscribeOptions options;
    if (index >= 2) options.queue = "workers";
    auto sub = server_->subscribe("interop.note", [&, index](const Envelope& ev) {
      std::lock_guard<std::mutex> lock(mu);
      json p = payload_json(ev);
      by_sub[index].push_back(p.value("n", -1));
      if (!ev.reply_to.empty()) seen_reply_to = ev.reply_to;
    }, options);
    ASSERT_TRUE(sub.ok()) << sub.status().to_string();
    subs.push_back(std::move(sub).value());
  }
  // The transport view shows the NATS reply subject of each event.
  std::string nats_reply;  // guarded by mu
  auto raw = server_->transport().subscribe("acp.v1.events.interop.note", "", [&](const TransportMessage& m) {
    std::lock_guard<std::mutex> lock(mu);
    if (!m.reply.empty()) nats_reply = std::string(m.reply);
  });
  ASSERT_TRUE(raw.ok()) << raw.status().to_string();
  ASSERT_TRUE(server_->transport().flush(5s).ok());

  constexpr int kEvents = 10;
  for (int i = 0; i < kEvents; ++i) {
    json envelope = {{"event_type", "interop.note"}, {"payload", {{"n", i}, {"text", "事件"}}}};
    if (i == 0) envelope["reply_to"] = "_INBOX.py.custom-reply";
    auto line = client_->call1({{"op", "publish"}, {"envelope", envelope}});
    ASSERT_TRUE(line.has_value());
    ASSERT_EQ((*line)["kind"], "published") << line->dump();
  }

  auto total = [&] {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (const auto& [index, values] : by_sub) n += values.size();
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return total() >= 3 * kEvents; }, 10s)) << "deliveries: " << total();
  std::this_thread::sleep_for(300ms);  // a window for (wrong) late duplicates

  std::lock_guard<std::mutex> lock(mu);
  std::vector<int> all;
  for (int i = 0; i < kEvents; ++i) all.push_back(i);
  EXPECT_EQ(by_sub[0], all);
  EXPECT_EQ(by_sub[1], all);
  std::multiset<int> group(by_sub[2].begin(), by_sub[2].end());
  group.insert(by_sub[3].begin(), by_sub[3].end());
  EXPECT_EQ(group, std::multiset<int>(all.begin(), all.end())) << "each event exactly once in the queue group";
  EXPECT_EQ(seen_reply_to, "_INBOX.py.custom-reply");
  EXPECT_EQ(nats_reply, "_INBOX.py.custom-reply");
}

// ---- tenants -----------------------------------------------------------------------------

TEST_F(PythonClientCppServerTest, TenantRequestsReachOnlyThatTenantsServers) {
  auto acme_bus = open_bus(bus_options("cpp-acme", "acme"));
  ASSERT_NE(acme_bus, nullptr);
  CppTargets acme;
  ASSERT_TRUE(acme.serve(*acme_bus, "t"));
  auto globex_bus = open_bus(bus_options("cpp-globex", "globex"));
  ASSERT_NE(globex_bus, nullptr);
  CppTargets globex;
  ASSERT_TRUE(globex.serve(*globex_bus, "t"));

  auto py_acme = call_py("py-acme", {"--tenant", "acme"});
  ASSERT_NE(py_acme, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto line = py_acme->call1(invoke_cmd("t.echo", {{"i", i}}));
    ASSERT_TRUE(line.has_value());
    ASSERT_EQ((*line)["kind"], "reply") << line->dump();
    EXPECT_EQ((*line)["reply"]["payload"]["served_by"], "cpp-acme");
    EXPECT_EQ((*line)["reply"]["tenant_id"], "acme");
  }
  // The envelope's tenant_id wins over the configured one.
  auto line = py_acme->call1(
      {{"op", "invoke"}, {"target", "t.echo"}, {"envelope", {{"tenant_id", "globex"}, {"payload", json::object()}}}});
  ASSERT_TRUE(line.has_value());
  ASSERT_EQ((*line)["kind"], "reply") << line->dump();
  EXPECT_EQ((*line)["reply"]["payload"]["served_by"], "cpp-globex");
  EXPECT_EQ((*line)["reply"]["tenant_id"], "globex");

  // No C++ server for this tenant (nor for none): the Python client times out.
  auto py_initech = call_py("py-initech", {"--tenant", "initech"});
  ASSERT_NE(py_initech, nullptr);
  json cmd = invoke_cmd("t.echo", json::object());
  cmd["timeout"] = 0.5;
  auto timed_out = py_initech->call1(cmd);
  ASSERT_TRUE(timed_out.has_value());
  EXPECT_EQ((*timed_out)["kind"], "exception") << timed_out->dump();
  EXPECT_EQ((*timed_out)["type"], "TimeoutError");
  auto untenanted = client_->call1(cmd);  // client_ has no tenant; "t" is only served per tenant
  ASSERT_TRUE(untenanted.has_value());
  EXPECT_EQ((*untenanted)["type"], "TimeoutError") << untenanted->dump();

  EXPECT_EQ(acme.request_count(), 3u);
  EXPECT_EQ(globex.request_count(), 1u);
  for (const Envelope& r : acme.requests()) EXPECT_EQ(r.tenant_id, "acme");
}

// ---- mixed replicas ------------------------------------------------------------------------

TEST_F(PythonClientCppServerTest, MixedCppAndPythonReplicasHandleEachRequestOnce) {
  auto py = serve_py("py-replica", {"--targets", "mixed"});
  ASSERT_NE(py, nullptr);
  CppTargets cpp;
  ASSERT_TRUE(cpp.serve(*server_, "mixed"));

  constexpr int kRequests = 24;
  std::map<std::string, int> served_by;
  std::set<std::string> request_ids;
  for (int i = 0; i < kRequests; ++i) {
    std::string id = "mixed-request-" + std::to_string(i);
    request_ids.insert(id);
    auto line = client_->call1(
        {{"op", "invoke"}, {"target", "mixed.echo"}, {"envelope", {{"event_id", id}, {"payload", {{"i", i}}}}}});
    ASSERT_TRUE(line.has_value());
    ASSERT_EQ((*line)["kind"], "reply") << line->dump();
    EXPECT_EQ((*line)["reply"]["correlation_id"], id);
    served_by[(*line)["reply"]["payload"]["served_by"].get<std::string>()]++;
  }
  EXPECT_EQ(served_by["py-replica"] + served_by["cpp-server"], kRequests);
  EXPECT_GT(served_by["py-replica"], 0) << "the queue group should spread requests";
  EXPECT_GT(served_by["cpp-server"], 0) << "the queue group should spread requests";

  std::multiset<std::string> handled;
  for (const Envelope& r : cpp.requests()) handled.insert(r.event_id);
  for (const json& l : py->drain("request", 300ms)) handled.insert(l["request"]["event_id"].get<std::string>());
  EXPECT_EQ(handled, std::multiset<std::string>(request_ids.begin(), request_ids.end()));
}

}  // namespace
}  // namespace oaio::test
