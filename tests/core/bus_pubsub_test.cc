// Publish / Subscribe on the in-process transport (WIRE.md §6).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "support/bus_fixture.h"
#include "support/test_util.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;

class BusPubSubTest : public test::BusPair {};

// The first event of one type that a bus receives, for a test to wait for.
class FirstEvent {
 public:
  FirstEvent(Bus& bus, std::string_view event_type)
      : sub_(bus.subscribe(event_type, [this](const Envelope& e) {
          std::lock_guard lock(mu_);
          if (!got_) got_ = e;
        })) {}
  bool subscribed() const { return sub_.ok(); }
  // The event, or nullopt when none came within test::wait_until's time.
  std::optional<Envelope> wait() {
    (void)test::wait_until([&] {
      std::lock_guard lock(mu_);
      return got_.has_value();
    });
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  std::mutex mu_;
  std::optional<Envelope> got_;
  Result<Subscription> sub_;  // last: unsubscribed before the members its handler uses go
};

TEST_F(BusPubSubTest, EveryPlainSubscriberGetsEveryEventInOrder) {
  std::mutex mu;
  std::vector<std::string> a, b;
  auto sa = server_->subscribe("goc.incident.created", [&](const Envelope& e) {
    std::lock_guard lock(mu);
    a.push_back(e.payload);
  });
  auto sb = client_->subscribe("goc.incident.created", [&](const Envelope& e) {
    std::lock_guard lock(mu);
    b.push_back(e.payload);
  });
  ASSERT_TRUE(sa.ok() && sb.ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(client_->publish("goc.incident.created", std::to_string(i)).ok());
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mu);
    return a.size() == 100 && b.size() == 100;
  }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(a[i], std::to_string(i));
    EXPECT_EQ(b[i], std::to_string(i));
  }
}

TEST_F(BusPubSubTest, QueueGroupSharesEventsOnlyWhenAsked) {
  std::atomic<int> q1{0}, q2{0};
  SubscribeOptions group;
  group.queue = "workers";
  auto s1 = server_->subscribe("job.ready", [&](const Envelope&) { q1++; }, group);
  auto s2 = client_->subscribe("job.ready", [&](const Envelope&) { q2++; }, group);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client_->publish("job.ready", "{}").ok());
  ASSERT_TRUE(test::wait_until([&] { return q1 + q2 == 50; }));
  EXPECT_EQ(q1 + q2, 50);
}

TEST_F(BusPubSubTest, PublishSetsNoFromFrameTypeOrTenantAndCarriesReplyTo) {
  std::mutex mu;
  std::optional<Envelope> got;
  std::string nats_reply;
  auto raw = transport_->subscribe("acp.v1.events.thing.happened", {}, [&](const TransportMessage& m) {
    std::lock_guard lock(mu);
    got = decode_envelope(m.data).value();
    nats_reply = std::string(m.reply);
  });
  Envelope e;
  e.event_type = "thing.happened";
  e.payload = R"({"k":"v"})";
  e.reply_to = "_INBOX.answer-here";
  ASSERT_TRUE(client_->publish(e).ok());
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mu);
    return got.has_value();
  }));
  std::lock_guard lock(mu);
  EXPECT_TRUE(got->from.empty());
  EXPECT_TRUE(got->frame_type.empty());
  EXPECT_TRUE(got->tenant_id.empty());
  EXPECT_EQ(got->reply_to, "_INBOX.answer-here");
  EXPECT_EQ(nats_reply, "_INBOX.answer-here");
  EXPECT_FALSE(got->event_id.empty());
}

// publish(const Envelope&): the kept event is sent as publish(Envelope&&) would send a
// copy of it (with a carrying transport a copy is made; with a byte transport, the
// `codec.` build of this suite, it is encoded as it is) and is left unchanged.
TEST_F(BusPubSubTest, AKeptEventCanBePublishedAgainAndIsLeftAsItIs) {
  std::mutex mu;
  std::vector<Envelope> got;
  auto sub = server_->subscribe("kept.event", [&](const Envelope& e) {
    std::lock_guard lock(mu);
    got.push_back(e);
  });
  ASSERT_TRUE(sub.ok());
  Envelope kept;
  kept.event_type = "kept.event";
  kept.payload = R"({"n":1})";
  kept.session_id = "s-1";
  kept.metadata["biz.key"] = R"("v")";
  const Envelope before = kept;
  ASSERT_TRUE(client_->publish(static_cast<const Envelope&>(kept)).ok());
  ASSERT_TRUE(client_->publish(static_cast<const Envelope&>(kept)).ok());
  ASSERT_TRUE(client_->publish(Envelope(kept)).ok());  // the consuming overload, for comparison
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mu);
    return got.size() == 3;
  }));
  std::lock_guard lock(mu);
  for (const Envelope& e : got) {
    EXPECT_EQ(e.payload, R"({"n":1})");
    EXPECT_EQ(e.session_id, "s-1");
    EXPECT_EQ(e.metadata, before.metadata);
    EXPECT_EQ(e.spec_version, "acp/1.0");
    EXPECT_EQ(e.schema_version, 1);
    EXPECT_EQ(e.event_id.size(), 36u);
    EXPECT_TRUE(parse_timestamp(e.occurred_at).has_value()) << e.occurred_at;
  }
  EXPECT_NE(got[0].event_id, got[1].event_id);  // each publish gets an id of its own
  EXPECT_NE(got[1].event_id, got[2].event_id);
  // Left as it was.
  EXPECT_TRUE(kept.event_id.empty());
  EXPECT_TRUE(kept.occurred_at.empty());
  EXPECT_EQ(kept.spec_version, before.spec_version);
  EXPECT_EQ(kept.schema_version, before.schema_version);
  EXPECT_EQ(kept.payload, before.payload);
  EXPECT_EQ(kept.metadata, before.metadata);
}

TEST_F(BusPubSubTest, AKeptEventKeepsItsOwnIdsAndIsRefusedLikeAnyOther) {
  FirstEvent first(*server_, "kept.ids");
  ASSERT_TRUE(first.subscribed());
  Envelope kept;
  kept.event_type = "kept.ids";
  kept.event_id = "0192b6a5-7c1e-7000-8000-000000000001";
  kept.occurred_at = "2026-11-22T06:00:00.5Z";
  ASSERT_TRUE(client_->publish(static_cast<const Envelope&>(kept)).ok());
  std::optional<Envelope> got = first.wait();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->event_id, kept.event_id);
  EXPECT_EQ(got->occurred_at, kept.occurred_at);
  Envelope bad = kept;
  bad.event_type = "a b";
  EXPECT_THAT(client_->publish(static_cast<const Envelope&>(bad)).message(), HasSubstr("event type"));
  bad = kept;
  bad.tenant_id = "t.*";
  EXPECT_THAT(client_->publish(static_cast<const Envelope&>(bad)).message(), HasSubstr("tenant"));
  bad = kept;
  bad.payload = "{not json";  // as the strict encoder refuses it for any publish
  EXPECT_EQ(client_->publish(static_cast<const Envelope&>(bad)).code(), ErrorCode::kCodecFailure);
  EXPECT_EQ(client_->publish(Envelope(bad)).code(), ErrorCode::kCodecFailure);
  bad = kept;
  bad.event_type.clear();
  EXPECT_EQ(client_->publish(static_cast<const Envelope&>(bad)).code(), ErrorCode::kInvalidRequest);
}

// Inside a handler a kept event is copied, so it can take the handled call's context.
TEST_F(BusPubSubTest, AKeptEventPublishedInAHandlerInheritsTheCallsContext) {
  FirstEvent first(*client_, "from.handler");
  Envelope kept;
  kept.event_type = "from.handler";
  auto h = server_->handle_invoke("notify", sync_invoke([&](Call&) -> Result<Envelope> {
                                    Status s = server_->publish(static_cast<const Envelope&>(kept));
                                    if (!s.ok()) return s;
                                    return result_payload("{}");
                                  }));
  ASSERT_TRUE(first.subscribed() && h.ok());
  Envelope req;
  req.session_id = "s-7";
  req.conversation_id = "c-7";
  ASSERT_TRUE(client_->invoke("notify", req).ok());
  std::optional<Envelope> got = first.wait();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->session_id, "s-7");
  EXPECT_EQ(got->conversation_id, "c-7");
  EXPECT_TRUE(kept.session_id.empty());
}

TEST_F(BusPubSubTest, TenantEventsUseTheTenantSubject) {
  auto tenant_bus = test::open_bus(transport_, test::bus_options("t", "acme"));
  std::atomic<int> tenant_got{0}, plain_got{0};
  auto st = tenant_bus->subscribe("news", [&](const Envelope& e) {
    EXPECT_EQ(e.tenant_id, "acme");
    tenant_got++;
  });
  auto sp = server_->subscribe("news", [&](const Envelope&) { plain_got++; });
  Envelope e;
  e.event_type = "news";
  e.tenant_id = "acme";
  ASSERT_TRUE(client_->publish(e).ok());
  ASSERT_TRUE(client_->publish("news", "{}").ok());
  ASSERT_TRUE(test::wait_until([&] { return tenant_got == 1 && plain_got == 1; }));
}

TEST_F(BusPubSubTest, BadNamesAreRefused) {
  for (std::string bad : {"", "a b", "x.*", "x.>", "a..b", ".a"}) {
    EXPECT_EQ(client_->publish(bad, "{}").code(), bad.empty() ? ErrorCode::kInvalidRequest : ErrorCode::kInvalidRequest);
    auto s = client_->subscribe(bad, [](const Envelope&) {});
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidRequest);
  }
  EXPECT_THAT(client_->publish("a b", "{}").message(), HasSubstr("event type"));
}

TEST_F(BusPubSubTest, WildcardMonitoringOnlyThroughTheRawApi) {
  std::atomic<int> seen{0};
  auto raw = server_->subscribe_raw("acp.v1.events.agent.response.>", [&](const Envelope&) { seen++; });
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(client_->publish("agent.response.delta", "{}").ok());
  ASSERT_TRUE(client_->publish("agent.response.final.extra", "{}").ok());
  ASSERT_TRUE(client_->publish("agent.other", "{}").ok());
  ASSERT_TRUE(test::wait_until([&] { return seen == 2; }));
}

TEST_F(BusPubSubTest, ThrowingEventHandlerDoesNotStopTheSubscription) {
  std::atomic<int> calls{0};
  auto s = server_->subscribe("boom", [&](const Envelope&) {
    calls++;
    throw std::runtime_error("handler bug");
  });
  ASSERT_TRUE(client_->publish("boom", "1").ok());
  ASSERT_TRUE(client_->publish("boom", "2").ok());
  EXPECT_TRUE(test::wait_until([&] { return calls == 2; }));
}

TEST_F(BusPubSubTest, UnsubscribeStopsDelivery) {
  std::atomic<int> calls{0};
  auto s = server_->subscribe("ping", [&](const Envelope&) { calls++; });
  ASSERT_TRUE(client_->publish("ping", "1").ok());
  ASSERT_TRUE(test::wait_until([&] { return calls == 1; }));
  s.value().unsubscribe();
  ASSERT_TRUE(client_->publish("ping", "2").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // nothing to wait for: absence
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace oaio

namespace oaio {
namespace {

// Keeps every line logged at warn or above.
class CapturingLogger : public Logger {
 public:
  bool enabled(LogLevel level) const override { return level >= LogLevel::kWarn; }
  void log(LogLevel, std::string_view message) override {
    std::lock_guard lock(mu_);
    lines_.emplace_back(message);
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST(BusDropLogTest, AFloodOfDroppedEventsIsOneLogLineNotOnePerEvent) {
  auto transport = test::test_inmem_transport();
  auto logger = std::make_shared<CapturingLogger>();
  BusOptions options = test::bus_options("sub");
  options.logger = logger;
  auto bus = test::open_bus(transport, options);
  std::atomic<int> handled{0};
  auto sub = bus->subscribe("thing.happened", [&](const Envelope&) { handled++; });
  ASSERT_TRUE(sub.ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(transport->publish("acp.v1.events.thing.happened", {}, "{not an envelope").ok());
  }
  EXPECT_EQ(bus->stats().frames_dropped, 200u);  // every drop is counted
  auto lines = logger->lines();
  ASSERT_EQ(lines.size(), 1u);  // but only the first is logged within the interval
  EXPECT_THAT(lines[0], HasSubstr("dropped undecodable event on acp.v1.events.thing.happened"));
  EXPECT_EQ(handled.load(), 0);
}

}  // namespace
}  // namespace oaio
