// Standard middleware: recover, trace, retry, dead-letter (WIRE.md §8–9).
#include "oaio/middleware.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "support/bus_fixture.h"
#include "support/test_util.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;
using test::payload_json;

class MiddlewareTest : public test::BusPair {};

TEST_F(MiddlewareTest, RetryStampsAttemptsUntilSuccess) {
  server_->use(middleware::retry({.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(1)}));
  std::mutex mu;
  std::vector<std::string> attempts;
  auto sub = server_->handle_invoke("flaky", sync_invoke([&](Call& c) -> Result<Envelope> {
                                      std::lock_guard lock(mu);
                                      attempts.push_back(c.request().metadata.at("acp.retry.attempt"));
                                      if (attempts.size() < 3) return Status::transport("upstream hiccup");
                                      return result_payload(R"("ok")");
                                    }));
  auto r = client_->invoke_payload("flaky", "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().payload, R"("ok")");
  EXPECT_EQ(attempts, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(r.value().metadata.count("acp.retry.attempt"), 0u);  // never leaks into replies
}

TEST_F(MiddlewareTest, RetryOnlyRetryableWhenAsked) {
  server_->use(middleware::retry({.max_attempts = 5, .initial_backoff = std::chrono::milliseconds(1),
                                  .only_retryable = true}));
  std::atomic<int> calls{0};
  auto sub = server_->handle_invoke("invalid", sync_invoke([&](Call&) -> Result<Envelope> {
                                      calls++;
                                      return Status::invalid("bad input");
                                    }));
  auto r = client_->invoke_payload("invalid", "{}");
  EXPECT_EQ(reply_status(r.value()).code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(MiddlewareTest, StreamIsNotRetriedAfterItSentAFrame) {
  server_->use(middleware::retry({.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(1)}));
  std::atomic<int> calls{0};
  auto sub = server_->handle_stream("partial", sync_stream([&](Call&, StreamWriter& w) -> Status {
                                      calls++;
                                      (void)w.delta(R"({"delta":"x"})");
                                      return Status::transport("lost upstream");
                                    }));
  auto stream = client_->stream_invoke("partial", Envelope{});
  std::vector<Envelope> frames;
  while (true) {
    auto n = stream.value()->next();
    ASSERT_TRUE(n.ok());
    if (!n.value()) break;
    frames.push_back(*n.value());
  }
  EXPECT_EQ(calls.load(), 1);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(reply_status(frames[1]).code(), ErrorCode::kTransportFailure);
}

TEST_F(MiddlewareTest, DeadLetterAfterExhaustedRetries) {
  server_->use(middleware::dead_letter());
  server_->use(middleware::retry({.max_attempts = 2, .initial_backoff = std::chrono::milliseconds(1)}));
  std::mutex mu;
  std::optional<Envelope> dlq;
  std::string dlq_subject;
  auto raw = transport_->subscribe("acp.v1.dlq.>", {}, [&](const TransportMessage& m) {
    std::lock_guard lock(mu);
    dlq = decode_envelope(m.data).value();
    dlq_subject = std::string(m.subject);
  });
  auto sub = server_->handle_invoke(
      "doomed", sync_invoke([](Call&) -> Result<Envelope> { return Status::unavailable("database is down"); }));
  auto tenant_client = test::open_bus(transport_, test::bus_options("c2"));
  Envelope req;
  req.event_id = "req-dlq-1";
  req.payload = R"({"order":7})";
  auto r = client_->invoke("doomed", req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(reply_status(r.value()).message(), "database is down");  // the caller still gets the error
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mu);
    return dlq.has_value();
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(dlq_subject, "acp.v1.dlq.agent.message.received");
  EXPECT_EQ(dlq->event_id, "req-dlq-1");
  EXPECT_FALSE(dlq->reply_to.empty());
  EXPECT_EQ(dlq->payload, R"({"order":7})");
  EXPECT_EQ(dlq->metadata.at("acp.dlq.original_event_type"), R"("agent.message.received")");
  EXPECT_EQ(dlq->metadata.at("acp.dlq.last_error"), R"("database is down")");
  EXPECT_EQ(dlq->metadata.at("acp.retry.attempt"), "2");
}

TEST_F(MiddlewareTest, FailedDeadLetterPublishIsReported) {
  // The request fits under max_payload, but the DLQ copy (request plus the stamped
  // error metadata) does not, so the dead-letter publish fails.
  auto small = test::test_inmem_transport({.max_payload = 600});
  auto server = test::open_bus(small, test::bus_options("s"));
  auto client = test::open_bus(small, test::bus_options("c"));
  server->use(middleware::dead_letter());
  auto sub = server->handle_invoke("doomed", sync_invoke([](Call&) -> Result<Envelope> {
                                     return Status::unavailable(std::string(60, 'e'));
                                   }));
  Envelope req;
  req.payload = "\"" + std::string(230, 'p') + "\"";
  auto r = client->invoke("doomed", req);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_THAT(reply_status(r.value()).message(), HasSubstr("dlq publish failed: "));
  EXPECT_THAT(reply_status(r.value()).message(), HasSubstr("(original: eee"));
}

TEST_F(MiddlewareTest, RecoverTurnsExceptionsIntoErrorsAndIgnoresDoubleCompletion) {
  server_->use(middleware::recover());
  auto thrower = server_->handle_invoke("throws", [](const std::shared_ptr<Call>&, Done) {
    throw std::runtime_error("kaput");
  });
  auto twice = server_->handle_invoke("twice", [](const std::shared_ptr<Call>&, Done done) {
    done(result_payload("1"));
    done(result_payload("2"));
  });
  EXPECT_EQ(reply_status(client_->invoke_payload("throws", "{}").value()).message(), "handler panic: kaput");
  auto r = client_->invoke_payload("twice", "{}");
  EXPECT_EQ(r.value().payload, "1");
  // One reply per call (the counter moves right after delivery, so wait for it).
  EXPECT_TRUE(test::wait_until([&] { return server_->stats().replies_sent == 2u; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server_->stats().replies_sent, 2u);
}

TEST_F(MiddlewareTest, MiddlewareRunsOutermostFirst) {
  std::mutex mu;
  std::vector<std::string> order;
  auto tag = [&](std::string name) -> Middleware {
    return [&, name](Handler next) -> Handler {
      return [&, name, next](const std::shared_ptr<Call>& call, Done done) {
        {
          std::lock_guard lock(mu);
          order.push_back(name);
        }
        next(call, done);
      };
    };
  };
  server_->use(tag("outer"));
  server_->use(tag("inner"));
  auto sub = server_->handle_invoke("x", sync_invoke([&](Call&) -> Result<Envelope> {
                                      std::lock_guard lock(mu);
                                      order.push_back("handler");
                                      return result_payload("1");
                                    }));
  ASSERT_TRUE(client_->invoke_payload("x", "{}").ok());
  EXPECT_EQ(order, (std::vector<std::string>{"outer", "inner", "handler"}));
}

}  // namespace
}  // namespace oaio
