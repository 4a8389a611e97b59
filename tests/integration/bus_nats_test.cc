// The bus over a real nats-server: the failure behaviour users rely on (WIRE.md §4,
// §11 [E1], issue: no handler, server killed mid-call, restart, garbage, max_payload).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "oaio/nats_transport.h"
#include "oaio/subject.h"
#include "support/bus_fixture.h"
#include "support/nats_server.h"
#include "support/test_util.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;
using test::payload_json;

std::shared_ptr<Transport> connect(const std::string& url, bool shared_reply_inbox = false) {
  NatsOptions o;
  o.servers = {url};
  o.shared_reply_inbox = shared_reply_inbox;
  o.reconnect_wait = std::chrono::milliseconds(50);
  auto t = connect_nats(o);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.value();
}

// Every test runs with per-call reply inboxes (the default) and with the shared one.
class BusNatsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start());
    server_transport_ = connect(server_.url(), GetParam());
    client_transport_ = connect(server_.url(), GetParam());
    srv_ = test::open_bus(server_transport_, test::bus_options("server-agent"));
    cli_ = test::open_bus(client_transport_, test::bus_options("client-agent"));
  }
  test::NatsServer server_;
  std::shared_ptr<Transport> server_transport_, client_transport_;
  std::unique_ptr<Bus> srv_, cli_;
};

Handler echo() {
  return sync_invoke([](Call& c) -> Result<Envelope> { return result_payload(c.request().payload); });
}

TEST_P(BusNatsTest, InvokeAndStreamRoundTrip) {
  auto a = srv_->handle_invoke("echo", echo());
  auto b = srv_->handle_stream("count", sync_stream([](Call&, StreamWriter& w) -> Status {
                                 for (int i = 0; i < 100; ++i) OAIO_RETURN_IF_ERROR(w.delta(std::to_string(i)));
                                 return w.final(R"({"n":100})");
                               }));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(server_transport_->flush(std::chrono::seconds(2)).ok());
  auto r = cli_->invoke_payload("echo", R"({"text":"über"})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().payload, R"({"text":"über"})");
  auto s = cli_->stream_invoke("count", Envelope{});
  ASSERT_TRUE(s.ok());
  int n = 0;
  while (true) {
    auto f = s.value()->next();
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    if (!f.value()) break;
    if (!f.value()->is_final) {
      EXPECT_EQ(f.value()->payload, std::to_string(n));
    }
    ++n;
  }
  EXPECT_EQ(n, 101);
}

TEST_P(BusNatsTest, NoHandlerFailsWellUnderASecond) {
  auto start = std::chrono::steady_clock::now();
  auto r = cli_->invoke_payload("nobody", "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNoHandler);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST_P(BusNatsTest, ServerKilledMidCallFailsFastThenReconnects) {
  // Shared with the handler, which outlives this body when an assertion returns early.
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto slow = srv_->handle_invoke("slow", sync_invoke([release](Call&) -> Result<Envelope> {
                                    while (!*release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                    return result_payload("1");
                                  }));
  auto fast = srv_->handle_invoke("echo", echo());
  ASSERT_TRUE(server_transport_->flush(std::chrono::seconds(2)).ok());
  std::optional<Result<Envelope>> result;
  std::mutex mu;
  CallOptions opts;
  opts.timeout = std::chrono::seconds(20);
  cli_->invoke_async("slow", Envelope{}, opts, [&](Result<Envelope> r) {
    std::lock_guard lock(mu);
    result.emplace(std::move(r));
  });
  // A blocking invoke waits for its reply on its own thread (a pull subscription):
  // it must fail as fast.
  std::optional<Result<Envelope>> blocking_result;
  std::chrono::steady_clock::time_point blocking_returned;
  std::thread blocking([&] {
    auto r = cli_->invoke_payload("slow", "{}", opts);
    std::lock_guard lock(mu);
    blocking_returned = std::chrono::steady_clock::now();
    blocking_result.emplace(std::move(r));
  });
  ASSERT_TRUE(test::wait_until([&] { return srv_->stats().requests_handled == 2; }));
  auto killed_at = std::chrono::steady_clock::now();
  server_.kill();
  ASSERT_TRUE(test::wait_until(
      [&] {
        std::lock_guard lock(mu);
        return result.has_value() && blocking_result.has_value();
      },
      std::chrono::seconds(5)));
  blocking.join();
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(result->status().code(), ErrorCode::kTransportFailure) << result->status().to_string();
    EXPECT_EQ(blocking_result->status().code(), ErrorCode::kTransportFailure) << blocking_result->status().to_string();
    EXPECT_LT(blocking_returned - killed_at, std::chrono::seconds(2));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, std::chrono::seconds(2));
  *release = true;

  // During the outage calls fail fast rather than time out.
  auto during = cli_->invoke_payload("echo", "{}", opts);
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.status().code(), ErrorCode::kTransportFailure);

  ASSERT_TRUE(server_.restart());
  ASSERT_TRUE(test::wait_until([&] { return client_transport_->connected() && server_transport_->connected(); },
                               std::chrono::seconds(10)));
  bool ok = test::wait_until(
      [&] {
        auto r = cli_->invoke_payload("echo", R"("back")");
        return r.ok() && r.value().payload == R"("back")";
      },
      std::chrono::seconds(10));
  EXPECT_TRUE(ok);
}

// What a blocking invoke does with its inbox: a reply that is not an envelope is a
// CODEC_FAILURE naming the target, and no reply at all an AGENT_TIMEOUT at the deadline.
TEST_P(BusNatsTest, BlockingInvokeReportsAnUndecodableReplyAndTimesOut) {
  const std::string subject = invoke_subject("acp.v1", "", "liar");
  std::atomic<bool> answer{true};
  auto raw = server_transport_->subscribe(subject, {}, [&](const TransportMessage& m) {
    auto request = decode_envelope(m.data);
    if (answer && request.ok()) (void)server_transport_->publish(request.value().reply_to, {}, "not an envelope");
  });
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(server_transport_->flush(std::chrono::seconds(2)).ok());
  CallOptions opts;
  opts.timeout = std::chrono::milliseconds(300);
  auto garbled = cli_->invoke_payload("liar", "{}", opts);
  ASSERT_FALSE(garbled.ok());
  EXPECT_EQ(garbled.status().code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(garbled.status().message(), HasSubstr("undecodable reply from \"liar\""));

  answer = false;
  auto start = std::chrono::steady_clock::now();
  auto silent = cli_->invoke_payload("liar", "{}", opts);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(silent.ok());
  EXPECT_EQ(silent.status().code(), ErrorCode::kAgentTimeout);
  EXPECT_EQ(silent.status().message(), "invoke of \"liar\" timed out after 300 ms");
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(2));
}

// Closing the client's connection while a blocking invoke waits ends the wait at once.
TEST_P(BusNatsTest, ClosingTheConnectionEndsAWaitingInvoke) {
  // Shared with the handler, which may still be looking at it after this body returns
  // (the server bus is torn down by the fixture, after the test).
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto slow = srv_->handle_invoke("slow", sync_invoke([release](Call&) -> Result<Envelope> {
                                    while (!*release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                    return result_payload("1");
                                  }));
  ASSERT_TRUE(server_transport_->flush(std::chrono::seconds(2)).ok());
  CallOptions opts;
  opts.timeout = std::chrono::seconds(20);
  std::optional<Result<Envelope>> result;
  std::thread caller([&] { result.emplace(cli_->invoke_payload("slow", "{}", opts)); });
  EXPECT_TRUE(test::wait_until([&] { return srv_->stats().requests_handled == 1; }));
  auto closed_at = std::chrono::steady_clock::now();
  client_transport_->close();
  caller.join();
  *release = true;  // before any assertion can return: the server's shutdown waits for the handler
  EXPECT_LT(std::chrono::steady_clock::now() - closed_at, std::chrono::seconds(2));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), ErrorCode::kTransportFailure) << result->status().to_string();
}

TEST_P(BusNatsTest, GarbageAndWronglyTypedFramesAreDroppedAndCounted) {
  auto sub = srv_->handle_invoke("echo", echo());
  ASSERT_TRUE(server_transport_->flush(std::chrono::seconds(2)).ok());
  const std::string subject = invoke_subject("acp.v1", "", "echo");
  for (std::string garbage : {std::string("garbage"), std::string(R"({"seq":"1","event_type":"x"})"),
                              std::string(R"({"seq":-1})"), std::string(R"({"is_final":1})"),
                              std::string(R"({"schema_version":"1"})"), std::string("\x00\x01", 2)}) {
    ASSERT_TRUE(client_transport_->publish(subject, {}, garbage).ok());
  }
  ASSERT_TRUE(client_transport_->flush(std::chrono::seconds(2)).ok());
  EXPECT_TRUE(test::wait_until([&] { return srv_->stats().frames_dropped == 6; }));
  auto r = cli_->invoke_payload("echo", "1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().payload, "1");
}

TEST(BusNatsMaxPayloadTest, PayloadAboveTheServersMaxPayloadGetsAClearError) {
  test::NatsServer server({.max_payload = 64 * 1024});
  ASSERT_TRUE(server.start());
  auto transport = connect(server.url());
  auto srv = test::open_bus(transport, test::bus_options("s"));
  auto cli = test::open_bus(transport, test::bus_options("c"));
  std::atomic<int> handled{0};
  auto sub = srv->handle_invoke("echo", sync_invoke([&](Call& c) -> Result<Envelope> {
                                  handled++;
                                  return result_payload(c.request().payload);
                                }));
  ASSERT_TRUE(transport->flush(std::chrono::seconds(2)).ok());
  auto big = cli->invoke_payload("echo", "\"" + std::string(70 * 1024, 'x') + "\"");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(big.status().message(), HasSubstr("max_payload"));
  EXPECT_EQ(handled.load(), 0);
  auto fits = cli->invoke_payload("echo", "\"" + std::string(60 * 1024, 'y') + "\"");
  ASSERT_TRUE(fits.ok()) << fits.status().to_string();
}

TEST_P(BusNatsTest, HeartbeatsDetectAKilledServerWithinThreeIntervals) {
  // The stream's server runs behind its own connection; killing nats-server silences it.
  auto sub = srv_->handle_stream("slow", sync_stream([](Call& c, StreamWriter& w) -> Status {
                                   (void)w.delta("1");
                                   while (!c.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                   return Status();
                                 }));
  ASSERT_TRUE(server_transport_->flush(std::chrono::seconds(2)).ok());
  CallOptions opts;
  opts.heartbeat = std::chrono::milliseconds(250);
  auto s = cli_->stream_invoke("slow", Envelope{}, opts);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.value()->next().ok());
  server_.kill();
  auto start = std::chrono::steady_clock::now();
  auto next = s.value()->next();
  ASSERT_FALSE(next.ok());
  // Either the connection loss or the missing heartbeats end it, well within 3 x 250 ms.
  EXPECT_THAT(next.status().code(), ::testing::AnyOf(ErrorCode::kTransportFailure, ErrorCode::kAgentTimeout));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  srv_->drain(std::chrono::milliseconds(1)).ok();
}

// [E2] with the caller's inbox: the server gets the cancel, the caller's stream ends.
// With a shared wildcard inbox subscription the cancel ("<inbox>.cancel") must still
// never come back to the caller as a frame.
TEST_P(BusNatsTest, CancelReachesTheHandlerAndNeverTheCaller) {
  std::atomic<bool> handler_saw_cancel{false};
  auto sub = srv_->handle_stream("slow", sync_stream([&](Call& c, StreamWriter& w) -> Status {
                                   (void)w.delta("1");
                                   for (int i = 0; i < 1000 && !c.cancelled(); ++i) {
                                     std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                   }
                                   handler_saw_cancel = c.cancelled();
                                   return Status();
                                 }));
  ASSERT_TRUE(server_transport_->flush(std::chrono::seconds(2)).ok());
  const auto dropped_before = cli_->stats().frames_dropped;
  CallOptions opts;
  opts.cancel_on_abandon = true;
  auto s = cli_->stream_invoke("slow", Envelope{}, opts);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto first = s.value()->next();
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  s.value()->cancel("test is done");
  EXPECT_TRUE(test::wait_until([&] { return handler_saw_cancel.load(); }, std::chrono::seconds(3)));
  auto after = s.value()->next();
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(cli_->stats().frames_dropped, dropped_before) << "the caller received something it did not expect";
}

// Many calls at once on one connection: each reply reaches its own caller.
TEST_P(BusNatsTest, ConcurrentCallsEachGetTheirOwnReply) {
  auto sub = srv_->handle_invoke("echo", echo());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(server_transport_->flush(std::chrono::seconds(2)).ok());
  std::atomic<int> right{0}, wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string payload = "\"" + std::to_string(t) + "/" + std::to_string(i) + "\"";
        auto r = cli_->invoke_payload("echo", payload);
        (r.ok() && r.value().payload == payload ? right : wrong)++;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(right.load(), 1600);
  EXPECT_EQ(wrong.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(ReplyInboxes, BusNatsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "SharedInbox" : "InboxPerCall";
                         });

}  // namespace
}  // namespace oaio
