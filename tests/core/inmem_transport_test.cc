// The in-process transport's hand-over of envelopes as objects (publish_envelope):
// who gets the object, who may take it, who gets bytes, and the limits and
// no-responders answer it shares with byte publishes.
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "envelope_settle.h"
#include "oaio/inmem_transport.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;

// What one subscriber saw of one message.
struct Seen {
  bool had_envelope = false;
  bool owned = false;
  std::string data;
  int status = 0;
  Envelope envelope;  // taken or copied as the bus would
};

MessageHandler recorder(std::shared_ptr<std::vector<Seen>> log) {
  return [log](const TransportMessage& m) {
    Seen s;
    s.had_envelope = m.envelope != nullptr;
    s.owned = m.envelope_owned;
    s.data = std::string(m.data);
    s.status = m.status;
    if (m.envelope) s.envelope = m.envelope_owned ? std::move(*m.envelope) : *m.envelope;
    log->push_back(std::move(s));
  };
}

Envelope settled_event(std::string payload = R"({"n":1})") {
  Envelope e;
  e.event_type = "thing.happened";
  e.session_id = "s-1";
  e.payload = std::move(payload);
  EXPECT_TRUE(detail::settle_envelope(&e).ok());
  return e;
}

TEST(InmemTransportTest, ASoleEnvelopeSubscriberOwnsTheEnvelope) {
  auto t = make_inmem_transport();
  EXPECT_TRUE(t->capabilities().carries_envelopes);
  auto log = std::make_shared<std::vector<Seen>>();
  auto sub = t->subscribe_envelopes("a.b", {}, recorder(log));
  ASSERT_TRUE(sub.ok());
  Envelope e = settled_event();
  const std::string id = e.event_id;
  ASSERT_TRUE(t->publish_envelope("a.b", "reply.here", std::move(e)).ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_TRUE((*log)[0].had_envelope);
  EXPECT_TRUE((*log)[0].owned);
  EXPECT_TRUE((*log)[0].data.empty());
  EXPECT_EQ((*log)[0].envelope.event_id, id);
  EXPECT_EQ((*log)[0].envelope.payload, R"({"n":1})");
}

TEST(InmemTransportTest, OnlyTheLastOfSeveralSubscribersMayTakeIt) {
  auto t = make_inmem_transport();
  auto log = std::make_shared<std::vector<Seen>>();
  auto first = t->subscribe_envelopes("a.b", {}, recorder(log));
  auto wildcard = t->subscribe_envelopes("a.*", {}, recorder(log));
  auto last = t->subscribe_envelopes("a.>", {}, recorder(log));
  ASSERT_TRUE(t->publish_envelope("a.b", {}, settled_event()).ok());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_FALSE((*log)[0].owned);
  EXPECT_FALSE((*log)[1].owned);
  EXPECT_TRUE((*log)[2].owned);
  for (const auto& s : *log) {
    EXPECT_TRUE(s.had_envelope);
    EXPECT_EQ(s.envelope.payload, R"({"n":1})");  // each saw it whole
    EXPECT_EQ(s.envelope.session_id, "s-1");
  }
}

TEST(InmemTransportTest, ByteSubscribersGetTheEncodingEvenWhenAnotherTakesTheObject) {
  auto t = make_inmem_transport();
  auto log = std::make_shared<std::vector<Seen>>();
  auto objects = t->subscribe_envelopes("a.b", {}, recorder(log));
  auto bytes = t->subscribe("a.b", {}, recorder(log));
  Envelope e = settled_event();
  const std::string expected = encode_envelope(e).value();
  ASSERT_TRUE(t->publish_envelope("a.b", {}, std::move(e)).ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_TRUE((*log)[0].owned);  // it moves the envelope away before the byte subscriber runs
  EXPECT_FALSE((*log)[1].had_envelope);
  EXPECT_EQ((*log)[1].data, expected);
}

TEST(InmemTransportTest, BytePublishesReachEnvelopeSubscribersAsBytes) {
  auto t = make_inmem_transport();
  auto log = std::make_shared<std::vector<Seen>>();
  auto sub = t->subscribe_envelopes("a.b", {}, recorder(log));
  ASSERT_TRUE(t->publish("a.b", {}, "not even json").ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_FALSE((*log)[0].had_envelope);
  EXPECT_EQ((*log)[0].data, "not even json");
}

TEST(InmemTransportTest, AnEnvelopeOverMaxPayloadIsRefusedAndNothingIsDelivered) {
  auto t = make_inmem_transport({.max_payload = 512});
  auto log = std::make_shared<std::vector<Seen>>();
  auto sub = t->subscribe_envelopes("a.b", {}, recorder(log));
  Status s = t->publish_envelope("a.b", {}, settled_event("\"" + std::string(600, 'x') + "\""));
  EXPECT_EQ(s.code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(s.message(), HasSubstr("exceeds the max_payload of 512 bytes"));
  EXPECT_TRUE(log->empty());
  // Just under the limit by its encoding (the size bound alone would refuse it).
  Envelope fits = settled_event("\"" + std::string(100, 'x') + "\"");
  ASSERT_LE(encode_envelope(fits).value().size(), 512u);
  EXPECT_TRUE(t->publish_envelope("a.b", {}, std::move(fits)).ok());
  EXPECT_EQ(log->size(), 1u);
}

TEST(InmemTransportTest, NobodyListeningAnswersTheReplySubjectWith503) {
  auto t = make_inmem_transport();
  auto log = std::make_shared<std::vector<Seen>>();
  auto inbox = t->subscribe_envelopes("_INBOX.x", {}, recorder(log));
  ASSERT_TRUE(t->publish_envelope("nobody.home", "_INBOX.x", settled_event()).ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].status, 503);
  EXPECT_FALSE((*log)[0].had_envelope);
}

TEST(InmemTransportTest, WithCarryingOffEverySubscriberGetsBytes) {
  auto t = make_inmem_transport({.carry_envelopes = false});
  EXPECT_FALSE(t->capabilities().carries_envelopes);
  auto log = std::make_shared<std::vector<Seen>>();
  auto sub = t->subscribe_envelopes("a.b", {}, recorder(log));
  Envelope e = settled_event();
  const std::string expected = encode_envelope(e).value();
  ASSERT_TRUE(t->publish_envelope("a.b", {}, std::move(e)).ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_FALSE((*log)[0].had_envelope);
  EXPECT_EQ((*log)[0].data, expected);
}

TEST(InmemTransportTest, AClosedTransportRefusesEnvelopes) {
  auto t = make_inmem_transport();
  t->close();
  EXPECT_EQ(t->publish_envelope("a.b", {}, settled_event()).code(), ErrorCode::kTransportFailure);
  EXPECT_EQ(t->subscribe_envelopes("a.b", {}, [](const TransportMessage&) {}).status().code(),
            ErrorCode::kTransportFailure);
}

}  // namespace
}  // namespace oaio
