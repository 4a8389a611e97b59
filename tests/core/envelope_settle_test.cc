// settle_envelope: an envelope handed over in process must look to its receiver
// exactly as decode_envelope(encode_envelope(env)) would, and fail exactly as the
// encoder would. Each case runs both paths and compares them.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "envelope_settle.h"
#include "oaio/envelope.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;

Envelope base() {
  Envelope e;
  e.event_id = "019de7eb-baab-7e67-bb77-a7a03a666140";
  e.event_type = "agent.message.received";
  e.occurred_at = "2026-05-02T10:00:00Z";
  return e;
}

// Runs both paths on `env` and expects the same outcome; returns the settled envelope.
Envelope expect_same_as_wire(const Envelope& env) {
  Envelope settled = env;
  const Status settle_status = detail::settle_envelope(&settled);
  auto bytes = encode_envelope(env);
  if (!bytes.ok()) {
    EXPECT_EQ(settle_status, bytes.status());
    return settled;
  }
  EXPECT_TRUE(settle_status.ok()) << settle_status.to_string();
  auto decoded = decode_envelope(*bytes);
  EXPECT_TRUE(decoded.ok()) << decoded.status().to_string();
  if (!decoded.ok()) return settled;
  // Generated values differ between the two runs by nature; their form must not.
  if (env.event_id.empty()) {
    EXPECT_EQ(settled.event_id.size(), 36u);
    decoded->event_id = settled.event_id;
  }
  if (env.occurred_at.empty()) {
    EXPECT_TRUE(parse_timestamp(settled.occurred_at).has_value()) << settled.occurred_at;
    decoded->occurred_at = settled.occurred_at;
  }
  // Encoding writes every field (payload and metadata values verbatim), so equal
  // bytes mean equal envelopes; it would write "now" for an empty occurred_at.
  EXPECT_EQ(settled.occurred_at, decoded->occurred_at);
  Envelope a = settled;
  if (a.occurred_at.empty()) a.occurred_at = decoded->occurred_at = "2026-01-01T00:00:00Z";
  EXPECT_EQ(encode_envelope(a).value(), encode_envelope(*decoded).value());
  EXPECT_EQ(settled.payload, decoded->payload);
  EXPECT_EQ(settled.metadata, decoded->metadata);
  return settled;
}

TEST(EnvelopeSettleTest, AFullEnvelopeIsUnchanged) {
  Envelope e = base();
  e.frame_type = "request";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.span_id = "00f067aa0ba902b7";
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  e.session_id = "s-1";
  e.conversation_id = "c-1";
  e.correlation_id = "r-1";
  e.reply_to = "_INBOX.abc";
  e.from = "me";
  e.to = "you";
  e.channel = "matrix";
  e.tenant_id = "acme";
  e.user_id = "u-1";
  e.seq = 7;
  e.is_final = true;
  e.payload = R"({"text":"héllo \"quoted\" <tag> \u2028","n":[1,2.5e3,null]})";
  e.metadata = {{"acp.retry.attempt", "2"}, {"k", R"({"nested":[true]})"}};
  Envelope settled = expect_same_as_wire(e);
  EXPECT_EQ(encode_envelope(settled).value(), encode_envelope(e).value());
}

TEST(EnvelopeSettleTest, FillsWhatTheEncoderFills) {
  Envelope e;
  e.event_type = "thing.happened";
  e.spec_version.clear();
  e.schema_version = 0;
  Envelope settled = expect_same_as_wire(e);
  EXPECT_EQ(settled.spec_version, kSpecVersion);
  EXPECT_EQ(settled.schema_version, kSchemaVersion);
  EXPECT_FALSE(settled.event_id.empty());
  EXPECT_FALSE(settled.occurred_at.empty());
}

TEST(EnvelopeSettleTest, TrimsPayloadAndMetadataAsTheDecoderDoes) {
  Envelope e = base();
  e.payload = " \n{\"a\": 1 }\t ";
  e.metadata = {{"x", "  \"y\"  "}, {"z", "null"}};
  Envelope settled = expect_same_as_wire(e);
  EXPECT_EQ(settled.payload, "{\"a\": 1 }");
  EXPECT_EQ(settled.metadata.at("x"), "\"y\"");
  EXPECT_EQ(settled.metadata.at("z"), "null");
}

TEST(EnvelopeSettleTest, ANullPayloadIsNoPayload) {
  for (const char* payload : {"null", "  null ", "\nnull"}) {
    Envelope e = base();
    e.payload = payload;
    EXPECT_FALSE(expect_same_as_wire(e).has_payload()) << payload;
  }
}

TEST(EnvelopeSettleTest, NormalisesOccurredAtAsDecoded) {
  const std::vector<std::string> stamps = {
      "2026-05-02T12:00:00+02:00",        // offset -> UTC
      "2026-05-02T10:00:00.500000000Z",   // trailing zeros dropped
      "2026-05-02T10:00:00.123456789Z",   // canonical, kept
      "yesterday",                        // unparsable -> unknown
  };
  for (const auto& at : stamps) {
    Envelope e = base();
    e.occurred_at = at;
    Envelope settled = expect_same_as_wire(e);
    if (at == "yesterday") {
      EXPECT_TRUE(settled.occurred_at.empty());
    }
  }
  Envelope e = base();
  e.occurred_at = "2026-05-02T12:00:00+02:00";
  EXPECT_EQ(expect_same_as_wire(e).occurred_at, "2026-05-02T10:00:00Z");
}

TEST(EnvelopeSettleTest, FailsAsTheEncoderFails) {
  const std::string bad_utf8 = "a\xC3";
  std::vector<Envelope> cases;
  Envelope e = base();
  e.event_type.clear();
  cases.push_back(e);
  for (std::string Envelope::*field :
       {&Envelope::spec_version, &Envelope::event_id, &Envelope::event_type, &Envelope::frame_type,
        &Envelope::occurred_at, &Envelope::traceparent, &Envelope::session_id, &Envelope::reply_to,
        &Envelope::user_id}) {
    e = base();
    e.*field = bad_utf8;
    cases.push_back(e);
  }
  e = base();
  e.session_id = bad_utf8;  // the first fault in the encoder's order is the one named
  e.payload = "{";
  cases.push_back(e);
  for (const char* payload : {"{", "[1,]", "1 2", "\"\xC3\"", "nul"}) {
    e = base();
    e.payload = payload;
    cases.push_back(e);
  }
  e = base();
  e.metadata = {{"ok", "1"}, {"bad", "{x}"}};
  cases.push_back(e);
  e = base();
  e.metadata = {{bad_utf8, "1"}};
  cases.push_back(e);
  e = base();
  e.metadata = {{"empty", ""}};
  cases.push_back(e);
  e = base();
  e.payload = std::string(600, '[') + std::string(600, ']');  // too deep for a decoder
  cases.push_back(e);

  for (const auto& c : cases) {
    Envelope settled = c;
    Status s = detail::settle_envelope(&settled);
    EXPECT_EQ(s.code(), ErrorCode::kCodecFailure) << encode_envelope(c).status().to_string();
    expect_same_as_wire(c);  // the same status as encode_envelope
  }
  Envelope named = base();
  named.reply_to = bad_utf8;
  Status s = detail::settle_envelope(&named);
  EXPECT_THAT(s.message(), HasSubstr("reply_to is not valid UTF-8"));
}

}  // namespace
}  // namespace oaio
