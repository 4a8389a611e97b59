// Invoke on the in-process transport (WIRE.md §4, §7, §8, §11 [E1]).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "oaio/subject.h"
#include "support/bus_fixture.h"
#include "support/test_util.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using test::payload_json;

class BusInvokeTest : public test::BusPair {};

// Echo handler returning the request payload as the result.
Handler echo() {
  return sync_invoke([](Call& call) -> Result<Envelope> { return result_payload(call.request().payload); });
}

TEST_F(BusInvokeTest, EchoReplyIsAFinalReplyShell) {
  auto sub = server_->handle_invoke("echo", echo());
  ASSERT_TRUE(sub.ok());

  Envelope req;
  req.payload = R"({"text":"héllo 🌍"})";
  req.session_id = "sess-1";
  req.conversation_id = "conv-1";
  req.user_id = "user-1";
  req.channel = "matrix";
  req.trace_id = "0af7651916cd43dd8448eb211c80319c";
  req.span_id = "b7ad6b7169203331";
  req.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  req.metadata["acp.retry.attempt"] = "1";
  req.metadata["matrix.room"] = R"("!r:x")";
  req.event_id = "req-event-1";
  auto reply = client_->invoke("echo", req);
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  const Envelope& r = reply.value();
  EXPECT_EQ(r.event_type, "agent.response.final");
  EXPECT_EQ(r.frame_type, "response.final");
  EXPECT_TRUE(r.is_final);
  EXPECT_EQ(r.seq, 0u);
  EXPECT_EQ(r.payload, R"({"text":"héllo 🌍"})");  // verbatim bytes
  EXPECT_EQ(r.correlation_id, "req-event-1");
  EXPECT_EQ(r.from, "server-agent");
  EXPECT_EQ(r.to, "client-agent");
  EXPECT_EQ(r.session_id, "sess-1");
  EXPECT_EQ(r.conversation_id, "conv-1");
  EXPECT_EQ(r.user_id, "user-1");
  EXPECT_EQ(r.channel, "matrix");
  EXPECT_EQ(r.traceparent, req.traceparent);  // replies carry it unchanged
  EXPECT_EQ(r.trace_id, req.trace_id);
  EXPECT_TRUE(r.reply_to.empty());
  EXPECT_NE(r.event_id, "req-event-1");
  EXPECT_EQ(r.metadata.count("acp.retry.attempt"), 0u);
  EXPECT_EQ(r.metadata.at("matrix.room"), R"("!r:x")");
}

TEST_F(BusInvokeTest, RequestIsFilledPerSpec) {
  Envelope seen;
  auto sub = server_->handle_invoke("inspect", sync_invoke([&](Call& call) -> Result<Envelope> {
                                      seen = call.request();
                                      return result_payload("");
                                    }));
  ASSERT_TRUE(sub.ok());
  auto reply = client_->invoke_payload("inspect", R"({"a":1})");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(seen.event_type, "agent.message.received");
  EXPECT_EQ(seen.frame_type, "request");
  EXPECT_EQ(seen.from, "client-agent");
  EXPECT_EQ(seen.to, "inspect");
  EXPECT_THAT(seen.reply_to, ::testing::StartsWith("_INBOX."));
  EXPECT_EQ(seen.spec_version, "acp/1.0");
  EXPECT_FALSE(seen.event_id.empty());
  EXPECT_FALSE(seen.occurred_at.empty());
  // No payload in the result -> no payload key in the final.
  EXPECT_TRUE(reply.value().payload.empty());
}

TEST_F(BusInvokeTest, HandlerEnvelopeKeepsItsValuesAndMergesMetadata) {
  auto sub = server_->handle_invoke("custom", sync_invoke([](Call&) -> Result<Envelope> {
                                      Envelope e;
                                      e.event_type = "agent.response.final";
                                      e.frame_type = "something-else";
                                      e.event_id = "handler-id";
                                      e.session_id = "handler-session";
                                      e.payload = R"({"ok":true})";
                                      e.metadata["x"] = "1";
                                      e.metadata["keep"] = R"("handler")";
                                      e.metadata["acp.secret"] = "true";
                                      return e;
                                    }));
  ASSERT_TRUE(sub.ok());
  Envelope req;
  req.session_id = "caller-session";
  req.conversation_id = "conv";
  req.metadata["keep"] = R"("caller")";
  req.metadata["inherited"] = "2";
  auto reply = client_->invoke("custom", req);
  ASSERT_TRUE(reply.ok());
  const Envelope& r = reply.value();
  EXPECT_EQ(r.event_id, "handler-id");
  EXPECT_EQ(r.frame_type, "response.final");  // canonical for a mapped type
  EXPECT_TRUE(r.is_final);
  EXPECT_EQ(r.session_id, "handler-session");
  EXPECT_EQ(r.conversation_id, "conv");
  EXPECT_FALSE(r.correlation_id.empty());
  EXPECT_EQ(r.metadata.at("keep"), R"("handler")");
  EXPECT_EQ(r.metadata.at("inherited"), "2");
  EXPECT_EQ(r.metadata.at("x"), "1");
  EXPECT_EQ(r.metadata.count("acp.secret"), 0u);
}

TEST_F(BusInvokeTest, TypedErrorsKeepTheirCodeAndOthersBecomeUnavailable) {
  auto typed = server_->handle_invoke(
      "typed", sync_invoke([](Call&) -> Result<Envelope> { return Status::invalid("field \"x\" is required"); }));
  auto timeout = server_->handle_invoke(
      "slowpoke", sync_invoke([](Call&) -> Result<Envelope> { return Status::timeout("upstream deadline"); }));
  auto thrower = server_->handle_invoke(
      "thrower", sync_invoke([](Call&) -> Result<Envelope> { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(typed.ok() && timeout.ok() && thrower.ok());

  auto r1 = client_->invoke_payload("typed", "{}");
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1.value().event_type, "agent.response.error");
  EXPECT_TRUE(r1.value().is_final);
  Status s1 = reply_status(r1.value());
  EXPECT_EQ(s1.code(), ErrorCode::kInvalidRequest);
  EXPECT_FALSE(s1.retryable());
  EXPECT_EQ(s1.message(), "field \"x\" is required");

  Status s2 = reply_status(client_->invoke_payload("slowpoke", "{}").value());
  EXPECT_EQ(s2.code(), ErrorCode::kAgentTimeout);
  EXPECT_TRUE(s2.retryable());

  Status s3 = reply_status(client_->invoke_payload("thrower", "{}").value());
  EXPECT_EQ(s3.code(), ErrorCode::kAgentUnavailable);
  EXPECT_FALSE(s3.retryable());
  EXPECT_EQ(s3.message(), "handler panic: boom");
}

// A handler's reply that cannot be encoded never leaves as is: the caller gets
// CODEC_FAILURE naming the target at once, not a timeout.
TEST_F(BusInvokeTest, AReplyPayloadThatIsNotJsonReachesTheCallerAsCodecFailure) {
  auto sub = server_->handle_invoke("broken",
                                    sync_invoke([](Call&) -> Result<Envelope> { return result_payload(R"({"a":)"); }));
  ASSERT_TRUE(sub.ok());
  CallOptions opts;
  opts.timeout = std::chrono::seconds(5);
  auto start = std::chrono::steady_clock::now();
  auto reply = client_->invoke_payload("broken", "{}", opts);
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(reply.value().event_type, "agent.response.error");
  Status s = reply_status(reply.value());
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(s.message(), HasSubstr("the reply of \"broken\" could not be sent"));
  EXPECT_THAT(s.message(), HasSubstr("not valid JSON"));
}

TEST_F(BusInvokeTest, NoHandlerFailsFast) {
  auto start = std::chrono::steady_clock::now();
  auto reply = client_->invoke_payload("nobody.home", "{}");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), ErrorCode::kNoHandler);
  EXPECT_THAT(reply.status().message(), HasSubstr("nobody.home"));
  EXPECT_LT(elapsed, std::chrono::milliseconds(500));
}

TEST_F(BusInvokeTest, UnansweredCallTimesOut) {
  // A handler that never completes: the caller's local timeout fires.
  std::shared_ptr<Call> parked;
  Done parked_done;
  std::mutex mu;
  auto sub = server_->handle_invoke("black.hole", [&](const std::shared_ptr<Call>& call, Done done) {
    std::lock_guard lock(mu);
    parked = call;
    parked_done = done;
  });
  ASSERT_TRUE(sub.ok());
  CallOptions opts;
  opts.timeout = std::chrono::milliseconds(100);
  auto start = std::chrono::steady_clock::now();
  auto reply = client_->invoke_payload("black.hole", "{}", opts);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), ErrorCode::kAgentTimeout);
  EXPECT_TRUE(reply.status().retryable());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  std::lock_guard lock(mu);
  parked_done(result_payload("{}"));  // a late completion is harmless
}

TEST_F(BusInvokeTest, AsyncHandlerCompletesFromAnotherThread) {
  auto sub = server_->handle_invoke("later", [](const std::shared_ptr<Call>& call, Done done) {
    std::thread([call, done] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done(result_payload(R"({"from":"thread"})"));
    }).detach();
  });
  ASSERT_TRUE(sub.ok());
  auto reply = client_->invoke_payload("later", "{}");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(payload_json(reply.value())["from"], "thread");
}

TEST_F(BusInvokeTest, InvalidNamesAreRefusedAndNothingIsSent) {
  std::atomic<int> seen{0};
  auto spy = client_->subscribe_raw(">", [&](const Envelope&) { seen++; });
  ASSERT_TRUE(spy.ok());
  for (std::string bad : {"", "a b", "a*", "a.>", ".a", "a.", "a..b", "tab\there", "nl\n"}) {
    auto r = client_->invoke_payload(bad, "{}");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidRequest) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("target")) << bad;
    EXPECT_FALSE(server_->handle_invoke(bad, echo()).ok()) << bad;
  }
  Envelope tenant_bad;
  tenant_bad.tenant_id = "t*";
  auto r = client_->invoke("echo", tenant_bad);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(r.status().message(), HasSubstr("tenant"));
  EXPECT_FALSE(Bus::open(test::test_inmem_transport(), test::bus_options("x", "bad tenant")).ok());
  EXPECT_EQ(seen.load(), 0);
}

TEST_F(BusInvokeTest, DottedTargetsBuildTheSameSubjectsAsTheSdks) {
  std::string subject;
  auto raw = client_->transport().subscribe("acp.v1.invoke.mcp-fs.read_file", {}, [&](const TransportMessage& m) {
    subject = std::string(m.subject);
  });
  ASSERT_TRUE(raw.ok());
  CallOptions opts;
  opts.timeout = std::chrono::milliseconds(50);
  (void)client_->invoke_payload("mcp-fs.read_file", "{}", opts);
  EXPECT_EQ(subject, "acp.v1.invoke.mcp-fs.read_file");
}

TEST_F(BusInvokeTest, TenantRequestsReachOnlyThatTenantsServers) {
  auto tenant_a = test::open_bus(transport_, test::bus_options("server-a", "tenant_a"));
  auto sub_a = tenant_a->handle_invoke("who", sync_invoke([](Call& c) -> Result<Envelope> {
                                         return result_payload(R"({"server":"a","tenant":")" + c.request().tenant_id +
                                                               "\"}");
                                       }));
  auto sub_plain = server_->handle_invoke(
      "who", sync_invoke([](Call&) -> Result<Envelope> { return result_payload(R"({"server":"plain"})"); }));
  ASSERT_TRUE(sub_a.ok() && sub_plain.ok());

  Envelope req;
  req.tenant_id = "tenant_a";
  auto r = client_->invoke("who", req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(payload_json(r.value())["server"], "a");
  EXPECT_EQ(payload_json(r.value())["tenant"], "tenant_a");
  EXPECT_EQ(payload_json(client_->invoke_payload("who", "{}").value())["server"], "plain");

  req.tenant_id = "tenant_b";
  auto miss = client_->invoke("who", req);
  EXPECT_EQ(miss.status().code(), ErrorCode::kNoHandler);

  // A bus configured for a tenant sends its bare requests there.
  auto client_a = test::open_bus(transport_, test::bus_options("client-a", "tenant_a"));
  EXPECT_EQ(payload_json(client_a->invoke_payload("who", "{}").value())["server"], "a");
}

TEST_F(BusInvokeTest, QueueGroupReplicasHandleEachRequestOnce) {
  auto replica2 = test::open_bus(transport_, test::bus_options("server-2"));
  std::atomic<int> count1{0}, count2{0}, fanout{0};
  auto s1 = server_->handle_invoke("work", sync_invoke([&](Call&) -> Result<Envelope> {
                                     count1++;
                                     return result_payload("1");
                                   }));
  auto s2 = replica2->handle_invoke("work", sync_invoke([&](Call&) -> Result<Envelope> {
                                      count2++;
                                      return result_payload("2");
                                    }));
  ASSERT_TRUE(s1.ok() && s2.ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(client_->invoke_payload("work", "{}").ok());
  EXPECT_EQ(count1 + count2, 200);
  EXPECT_GT(count1.load(), 0);
  EXPECT_GT(count2.load(), 0);

  // An explicit empty queue name means fan-out: every replica runs the request.
  HandlerOptions fan;
  fan.queue = "";
  auto f1 = server_->handle_invoke("audit", sync_invoke([&](Call&) -> Result<Envelope> {
                                     fanout++;
                                     return result_payload("1");
                                   }),
                                   fan);
  auto f2 = replica2->handle_invoke("audit", sync_invoke([&](Call&) -> Result<Envelope> {
                                      fanout++;
                                      return result_payload("2");
                                    }),
                                    fan);
  ASSERT_TRUE(client_->invoke_payload("audit", "{}").ok());
  EXPECT_TRUE(test::wait_until([&] { return fanout.load() == 2; }));
}

TEST_F(BusInvokeTest, NestedCallsInheritContextWithAChildTraceparent) {
  Envelope inner_seen;
  auto inner = server_->handle_invoke("inner", sync_invoke([&](Call& c) -> Result<Envelope> {
                                        inner_seen = c.request();
                                        return result_payload(R"("inner")");
                                      }));
  auto outer = server_->handle_invoke("outer", sync_invoke([&](Call& c) -> Result<Envelope> {
                                        auto r = c.bus().invoke_payload("inner", "{}");
                                        if (!r.ok()) return r.status();
                                        return result_payload(r.value().payload);
                                      }));
  ASSERT_TRUE(inner.ok() && outer.ok());
  Envelope req;
  req.session_id = "s-42";
  req.conversation_id = "c-42";
  req.trace_id = "trace-42";
  req.user_id = "must-not-propagate";
  req.channel = "nor-this";
  req.metadata["biz.key"] = "1";
  req.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto r = client_->invoke("outer", req);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().payload, R"("inner")");
  EXPECT_EQ(inner_seen.session_id, "s-42");
  EXPECT_EQ(inner_seen.conversation_id, "c-42");
  EXPECT_EQ(inner_seen.trace_id, "trace-42");
  EXPECT_TRUE(inner_seen.user_id.empty());
  EXPECT_TRUE(inner_seen.channel.empty());
  EXPECT_TRUE(inner_seen.metadata.empty());
  ASSERT_EQ(inner_seen.traceparent.size(), 55u);
  EXPECT_EQ(inner_seen.traceparent.substr(0, 36), req.traceparent.substr(0, 36));  // same trace id
  EXPECT_EQ(inner_seen.traceparent.substr(52), "-01");                            // same flags
  EXPECT_NE(inner_seen.traceparent.substr(36, 16), req.traceparent.substr(36, 16));
  EXPECT_EQ(inner_seen.span_id, inner_seen.traceparent.substr(36, 16));
}

TEST_F(BusInvokeTest, GarbageOnTheWireIsDroppedAndCounted) {
  auto sub = server_->handle_invoke("echo", echo());
  ASSERT_TRUE(sub.ok());
  const std::string subject = invoke_subject("acp.v1", "", "echo");
  for (std::string garbage : {std::string("not json"), std::string("[1,2]"), std::string(R"({"seq":1.5})"),
                              std::string(R"({"is_final":"true","event_type":"x"})"), std::string("\xff\xfe"),
                              std::string(R"({"metadata":[]})"), std::string()}) {
    ASSERT_TRUE(transport_->publish(subject, {}, garbage).ok());
  }
  EXPECT_TRUE(test::wait_until([&] { return server_->stats().frames_dropped == 7; }));
  // The server keeps serving.
  auto r = client_->invoke_payload("echo", R"({"still":"alive"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(payload_json(r.value())["still"], "alive");
}

TEST_F(BusInvokeTest, OversizedRequestGetsAClearErrorAndNothingIsSent) {
  auto small = test::test_inmem_transport({.max_payload = 1024});
  auto server = test::open_bus(small, test::bus_options("s"));
  auto client = test::open_bus(small, test::bus_options("c"));
  std::atomic<int> handled{0};
  auto sub = server->handle_invoke("echo", sync_invoke([&](Call& c) -> Result<Envelope> {
                                     handled++;
                                     return result_payload(c.request().payload);
                                   }));
  auto r = client->invoke_payload("echo", "\"" + std::string(2000, 'x') + "\"");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(r.status().message(), HasSubstr("max_payload"));
  EXPECT_EQ(handled.load(), 0);
}

TEST_F(BusInvokeTest, OversizedReplyBecomesAnErrorReplyNotATimeout) {
  auto small = test::test_inmem_transport({.max_payload = 1024});
  auto server = test::open_bus(small, test::bus_options("s"));
  auto client = test::open_bus(small, test::bus_options("c"));
  auto sub = server->handle_invoke("big", sync_invoke([](Call&) -> Result<Envelope> {
                                     return result_payload("\"" + std::string(4000, 'y') + "\"");
                                   }));
  auto r = client->invoke_payload("big", "{}");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Status s = reply_status(r.value());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(s.message(), HasSubstr("max_payload"));
}

TEST_F(BusInvokeTest, RequestWithoutReplyToRunsTheHandlerAndAnswersNothing) {
  std::atomic<int> handled{0};
  auto sub = server_->handle_invoke("fire", sync_invoke([&](Call&) -> Result<Envelope> {
                                      handled++;
                                      return result_payload("1");
                                    }));
  Envelope e = make_envelope("agent.message.received", "{}");
  auto bytes = encode_envelope(e);
  ASSERT_TRUE(transport_->publish("acp.v1.invoke.fire", {}, bytes.value()).ok());
  EXPECT_TRUE(test::wait_until([&] { return handled.load() == 1; }));
  EXPECT_EQ(server_->stats().replies_sent, 0u);
}

}  // namespace
}  // namespace oaio
