// StreamInvoke on the in-process transport (WIRE.md §5, §11 [E2] [E3]).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "support/bus_fixture.h"
#include "support/test_util.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using test::payload_json;

class BusStreamTest : public test::BusPair {};

// Collects every frame of a pull-style stream until its end.
struct Collected {
  std::vector<Envelope> frames;
  Status end;
};

Collected collect(ClientStream& stream) {
  Collected c;
  while (true) {
    auto next = stream.next();
    if (!next.ok()) {
      c.end = next.status();
      return c;
    }
    if (!next.value()) return c;
    c.frames.push_back(std::move(*next.value()));
  }
}

TEST_F(BusStreamTest, StartedDeltasFinalArriveInOrder) {
  auto sub = server_->handle_stream("story", sync_stream([](Call&, StreamWriter& w) -> Status {
                                      OAIO_RETURN_IF_ERROR(w.started(R"({"model":"m1"})"));
                                      for (int i = 0; i < 50; ++i) {
                                        OAIO_RETURN_IF_ERROR(w.delta(R"({"delta":")" + std::to_string(i) + "\"}"));
                                      }
                                      return w.final(R"({"result":{"n":50}})");
                                    }));
  ASSERT_TRUE(sub.ok());
  Envelope req;
  req.session_id = "s1";
  req.metadata["biz"] = "true";
  auto stream = client_->stream_invoke("story", req);
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  auto c = collect(*stream.value());
  ASSERT_TRUE(c.end.ok()) << c.end.to_string();
  ASSERT_EQ(c.frames.size(), 52u);
  EXPECT_EQ(c.frames[0].event_type, "agent.response.started");
  EXPECT_EQ(payload_json(c.frames[0])["meta"]["model"], "m1");
  for (std::size_t i = 0; i < c.frames.size(); ++i) {
    EXPECT_EQ(c.frames[i].seq, i);
    EXPECT_EQ(c.frames[i].correlation_id, stream.value()->request_id());
    EXPECT_EQ(c.frames[i].session_id, "s1");
    EXPECT_EQ(c.frames[i].metadata.at("biz"), "true");
    EXPECT_EQ(c.frames[i].metadata.count("acp.cancel"), 0u);
    EXPECT_EQ(c.frames[i].is_final, i == 51);
  }
  EXPECT_EQ(payload_json(c.frames[1])["delta"], "0");
  EXPECT_EQ(c.frames[51].event_type, "agent.response.final");
  EXPECT_EQ(payload_json(c.frames[51])["result"]["n"], 50);
}

TEST_F(BusStreamTest, AutomaticFinalHasNoPayload) {
  auto sub = server_->handle_stream("quiet", sync_stream([](Call&, StreamWriter& w) -> Status {
                                      return w.delta(R"({"delta":"only"})");
                                    }));
  auto stream = client_->stream_invoke("quiet", Envelope{});
  ASSERT_TRUE(stream.ok());
  auto c = collect(*stream.value());
  ASSERT_TRUE(c.end.ok());
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0].event_type, "agent.response.delta");  // delta-first, no started
  EXPECT_EQ(c.frames[1].event_type, "agent.response.final");
  EXPECT_TRUE(c.frames[1].payload.empty());
}

TEST_F(BusStreamTest, HandlerFailureBecomesTheErrorTerminal) {
  auto sub = server_->handle_stream("fails", sync_stream([](Call&, StreamWriter& w) -> Status {
                                      (void)w.delta(R"({"delta":"partial"})");
                                      return Status::auth("token expired");
                                    }));
  auto thrower = server_->handle_stream("throws", sync_stream([](Call&, StreamWriter&) -> Status {
                                          throw std::logic_error("bad state");
                                        }));
  auto c = collect(*client_->stream_invoke("fails", Envelope{}).value());
  ASSERT_TRUE(c.end.ok());  // the error frame is yielded as a frame
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[1].event_type, "agent.response.error");
  EXPECT_TRUE(c.frames[1].is_final);
  EXPECT_EQ(reply_status(c.frames[1]).code(), ErrorCode::kAuthFailure);
  EXPECT_EQ(reply_status(c.frames[1]).message(), "token expired");

  auto t = collect(*client_->stream_invoke("throws", Envelope{}).value());
  ASSERT_EQ(t.frames.size(), 1u);
  EXPECT_EQ(reply_status(t.frames[0]).message(), "handler panic: bad state");
}

TEST_F(BusStreamTest, NoHandlerFailsFast) {
  auto stream = client_->stream_invoke("ghost", Envelope{});
  ASSERT_TRUE(stream.ok());
  auto next = stream.value()->next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), ErrorCode::kNoHandler);
}

TEST_F(BusStreamTest, InvokeOfAStreamTargetTakesTheFirstFrame) {
  auto sub = server_->handle_stream("streamer", sync_stream([](Call&, StreamWriter& w) -> Status {
                                      OAIO_RETURN_IF_ERROR(w.started());
                                      return w.final(R"({"done":true})");
                                    }));
  auto r = client_->invoke_payload("streamer", "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().event_type, "agent.response.started");
}

// A handler that streams until cancelled; reports what it observed.
struct Endless {
  std::atomic<bool> cancelled{false};
  std::atomic<bool> write_failed{false};
  std::atomic<bool> returned{false};
};

Handler endless_handler(std::shared_ptr<Endless> state, std::chrono::milliseconds period) {
  return sync_stream([state, period](Call& call, StreamWriter& w) -> Status {
    call.on_cancel([state] { state->cancelled = true; });
    for (int i = 0; i < 5000 && !call.cancelled(); ++i) {
      if (!w.delta(R"({"delta":"."})").ok()) {
        state->write_failed = true;
        break;
      }
      std::this_thread::sleep_for(period);
    }
    state->returned = true;
    return Status();
  });
}

TEST_F(BusStreamTest, CancelStopsTheServerHandlerAndSendsTheCancelTerminal) {
  auto state = std::make_shared<Endless>();
  auto sub = server_->handle_stream("endless", endless_handler(state, std::chrono::milliseconds(2)));
  // Watch the inbox traffic to see the server's terminal frame after the cancel.
  std::mutex mu;
  std::vector<Envelope> wire;
  auto spy = server_->subscribe_raw("_INBOX.>", [&](const Envelope& e) {
    if (e.event_type == "agent.request.cancel") return;  // the client's own cancel
    std::lock_guard lock(mu);
    wire.push_back(e);
  }, {.run_inline = true});
  auto stream = client_->stream_invoke("endless", Envelope{});
  ASSERT_TRUE(stream.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stream.value()->next().ok());
  stream.value()->cancel("user closed the tab");
  EXPECT_EQ(stream.value()->next().status().code(), ErrorCode::kInvalidRequest);
  ASSERT_TRUE(test::wait_until([&] { return state->returned.load(); }));
  EXPECT_TRUE(state->cancelled.load());
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mu);
    return !wire.empty() && wire.back().is_final;
  }));
  std::lock_guard lock(mu);
  const Envelope& terminal = wire.back();
  EXPECT_EQ(terminal.event_type, "agent.response.error");
  auto p = payload_json(terminal);
  EXPECT_EQ(p["code"], "INVALID_REQUEST");
  EXPECT_EQ(p["message"], "stream cancelled by caller");
  EXPECT_EQ(p["retryable"], false);
  EXPECT_EQ(p["cause"]["reason"], "cancelled");
  // Exactly one terminal and no gap in seqs.
  int terminals = 0;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    EXPECT_EQ(wire[i].seq, i);
    terminals += wire[i].is_final ? 1 : 0;
  }
  EXPECT_EQ(terminals, 1);
}

TEST_F(BusStreamTest, OverallAndIdleTimeoutsEndTheStream) {
  auto state = std::make_shared<Endless>();
  auto sub = server_->handle_stream("slow", endless_handler(state, std::chrono::milliseconds(40)));
  CallOptions overall;
  overall.timeout = std::chrono::milliseconds(150);
  auto c = collect(*client_->stream_invoke("slow", Envelope{}, overall).value());
  EXPECT_EQ(c.end.code(), ErrorCode::kAgentTimeout);
  EXPECT_THAT(c.end.message(), HasSubstr("timed out"));
  EXPECT_FALSE(c.frames.empty());
  ASSERT_TRUE(test::wait_until([&] { return state->returned.load(); }));  // [E2] reached it

  auto stalled = std::make_shared<Endless>();
  auto sub2 = server_->handle_stream("stall", endless_handler(stalled, std::chrono::milliseconds(400)));
  CallOptions idle;
  idle.idle_timeout = std::chrono::milliseconds(100);
  auto start = std::chrono::steady_clock::now();
  auto d = collect(*client_->stream_invoke("stall", Envelope{}, idle).value());
  EXPECT_EQ(d.end.code(), ErrorCode::kAgentTimeout);
  EXPECT_THAT(d.end.message(), HasSubstr("idle"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(380));
}

TEST_F(BusStreamTest, HeartbeatsKeepASlowStreamAliveAndAreNotYielded) {
  auto sub = server_->handle_stream("thinker", sync_stream([](Call&, StreamWriter& w) -> Status {
                                      std::this_thread::sleep_for(std::chrono::milliseconds(900));
                                      return w.final(R"({"answer":42})");
                                    }));
  std::atomic<int> heartbeats{0};
  auto spy = server_->subscribe_raw("_INBOX.>", [&](const Envelope& e) {
    if (e.event_type == "agent.response.heartbeat") heartbeats++;
  }, {.run_inline = true});
  CallOptions opts;
  opts.heartbeat = std::chrono::milliseconds(250);
  auto c = collect(*client_->stream_invoke("thinker", Envelope{}, opts).value());
  ASSERT_TRUE(c.end.ok()) << c.end.to_string();
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0].event_type, "agent.response.final");
  EXPECT_GE(heartbeats.load(), 3);  // the immediate one plus one per 250 ms of silence
}

TEST_F(BusStreamTest, LostServerIsDetectedWithinThreeHeartbeats) {
  // The server bus vanishes mid-stream (as a killed process would): no more heartbeats.
  auto server = test::open_bus(transport_, test::bus_options("doomed"));
  auto state = std::make_shared<Endless>();
  auto sub = server->handle_stream("doomed", endless_handler(state, std::chrono::milliseconds(20)));
  CallOptions opts;
  opts.heartbeat = std::chrono::milliseconds(250);
  opts.cancel_on_abandon = false;
  auto stream = client_->stream_invoke("doomed", Envelope{}, opts);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(stream.value()->next().ok());  // the first delta
  std::thread killer([&] { server.reset(); });  // cancels the handler, stops heartbeats
  auto start = std::chrono::steady_clock::now();
  auto next = stream.value()->next();
  auto waited = std::chrono::steady_clock::now() - start;
  killer.join();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), ErrorCode::kAgentTimeout);
  EXPECT_THAT(next.status().message(), HasSubstr("lost"));
  EXPECT_LT(waited, std::chrono::milliseconds(1200));
}

TEST_F(BusStreamTest, AsyncStreamCallbackCanAbandon) {
  auto state = std::make_shared<Endless>();
  auto sub = server_->handle_stream("endless", endless_handler(state, std::chrono::milliseconds(1)));
  std::atomic<int> frames{0};
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> end;
  client_->stream_invoke_async(
      "endless", Envelope{}, {},
      [&](const Envelope&) { return ++frames < 5; },
      [&](const Status& s) {
        std::lock_guard lock(mu);
        end = s;
        cv.notify_all();
      });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return end.has_value(); }));
  EXPECT_EQ(frames.load(), 5);
  EXPECT_EQ(end->code(), ErrorCode::kInvalidRequest);
  lock.unlock();
  EXPECT_TRUE(test::wait_until([&] { return state->returned.load(); }));
}

TEST_F(BusStreamTest, StreamRequestWithoutReplyToIsDropped) {
  std::atomic<int> ran{0};
  auto sub = server_->handle_stream("s", sync_stream([&](Call&, StreamWriter&) -> Status {
                                      ran++;
                                      return Status();
                                    }));
  auto bytes = encode_envelope(make_envelope("agent.message.received", "{}"));
  ASSERT_TRUE(transport_->publish("acp.v1.invoke.s", {}, bytes.value()).ok());
  EXPECT_TRUE(test::wait_until([&] { return server_->stats().frames_dropped == 1; }));
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace oaio

namespace oaio {
namespace {

TEST_F(BusStreamTest, ServeInvokeTargetAnswersBothKindsOfCaller) {
  HandlerOptions dual;
  dual.serve_invoke = true;
  std::atomic<int> stream_callers{0};
  auto sub = server_->handle_stream("tool", sync_stream([&](Call& call, StreamWriter& w) -> Status {
                                      if (call.is_stream()) stream_callers++;
                                      OAIO_RETURN_IF_ERROR(w.delta(R"({"progress":1,"total":2})"));
                                      return w.final(R"({"answer":"done"})");
                                    }),
                                    dual);
  ASSERT_TRUE(sub.ok());
  // An Invoke caller gets exactly the final, with no seq key.
  auto r = client_->invoke_payload("tool", "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().event_type, "agent.response.final");
  EXPECT_EQ(payload_json(r.value())["answer"], "done");
  EXPECT_EQ(stream_callers.load(), 0);
  // A stream caller gets the progress delta too.
  auto c = collect(*client_->stream_invoke("tool", Envelope{}).value());
  ASSERT_TRUE(c.end.ok());
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.frames[0].event_type, "agent.response.delta");
  EXPECT_EQ(c.frames[1].seq, 1u);
  EXPECT_EQ(stream_callers.load(), 1);
}


// The host's path: a stream target whose handler only completes (no writer call) when
// the caller is not reading a stream. The Invoke caller gets the handler's payload and
// metadata as the final reply, or its error; a stream caller of the same target still
// gets a proper stream from the writer.
TEST_F(BusStreamTest, ServeInvokeHandlerMayCompleteInvokeCallersWithoutTheWriter) {
  HandlerOptions dual;
  dual.serve_invoke = true;
  auto sub = server_->handle_stream(
      "tool",
      [](const std::shared_ptr<Call>& call, Done done) {
        const bool fail = call->request().payload.find("fail") != std::string::npos;
        if (call->is_stream()) {
          (void)call->writer().delta(R"({"step":1})");
          if (fail) return done(Status::timeout("too slow"));
          (void)call->writer().final(R"({"via":"writer"})");
          return done(Envelope{});
        }
        if (fail) return done(Status::timeout("too slow"));
        Envelope reply = result_payload(R"({"via":"done"})");
        reply.metadata["x.own"] = "1";
        done(std::move(reply));
      },
      dual);
  ASSERT_TRUE(sub.ok());
  Envelope request = make_envelope("agent.message.received", "{}");
  request.metadata["x.inherited"] = "\"yes\"";
  auto r = client_->invoke("tool", request);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().event_type, "agent.response.final");
  EXPECT_EQ(payload_json(r.value())["via"], "done");
  EXPECT_EQ(r.value().metadata["x.own"], "1");
  EXPECT_EQ(r.value().metadata["x.inherited"], "\"yes\"");
  EXPECT_EQ(r.value().seq, 0u);
  auto failed = client_->invoke_payload("tool", R"({"fail":true})");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed.value().event_type, "agent.response.error");
  Status error = reply_status(failed.value());
  EXPECT_EQ(error.code(), ErrorCode::kAgentTimeout);
  EXPECT_EQ(error.message(), "too slow");

  auto c = collect(*client_->stream_invoke("tool", Envelope{}).value());
  ASSERT_TRUE(c.end.ok());
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(payload_json(c.frames[1])["via"], "writer");
  auto e = collect(*client_->stream_invoke("tool", make_envelope("agent.message.received", R"({"fail":1})")).value());
  ASSERT_TRUE(e.end.ok());
  ASSERT_EQ(e.frames.size(), 2u);  // the delta, then the error frame ends the stream
  EXPECT_EQ(e.frames[1].event_type, "agent.response.error");
  EXPECT_EQ(reply_status(e.frames[1]).code(), ErrorCode::kAgentTimeout);
}

}  // namespace
}  // namespace oaio
