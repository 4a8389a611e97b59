// The envelope codec: encoder output bytes (order, omission, Go escaping), decoder
// leniency and strictness (WIRE.md §1.5, §1.6), and the small envelope helpers.
// Error payloads are in error_payload_test.cc, the helpers in envelope_helpers_test.cc.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oaio/envelope.h"

namespace oaio {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr const char* kId = "019de7eb-baab-7e67-bb77-a7a03a666140";
constexpr const char* kAt = "2026-05-02T10:00:00Z";

Envelope minimal(std::string_view type = "agent.response.final") {
  Envelope e;
  e.event_id = kId;
  e.event_type = std::string(type);
  e.occurred_at = kAt;
  return e;
}

std::string encode_ok(const Envelope& e) {
  auto r = encode_envelope(e);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : "";
}

Envelope decode_ok(std::string_view text) {
  auto r = decode_envelope(text);
  EXPECT_TRUE(r.ok()) << r.status().to_string() << "\n" << text;
  return r.ok() ? *r : Envelope{};
}

// Wraps `fields` (",..." JSON members) in a valid minimal envelope.
std::string frame(std::string_view fields) {
  return std::string(R"({"spec_version":"acp/1.0","schema_version":1,"event_id":")") + kId +
         R"(","event_type":"agent.response.delta","occurred_at":")" + kAt + "\"" + std::string(fields) + "}";
}

Status decode_status(std::string_view text) { return decode_envelope(text).status(); }

// ---- Encoder ----------------------------------------------------------------------

TEST(EnvelopeEncodeTest, WritesEveryFieldInCanonicalOrder) {
  Envelope e = minimal();
  e.frame_type = "response.final";
  e.trace_id = "t";
  e.span_id = "s";
  e.traceparent = "tp";
  e.session_id = "se";
  e.conversation_id = "co";
  e.correlation_id = "cr";
  e.reply_to = "rt";
  e.from = "fr";
  e.to = "to";
  e.channel = "ch";
  e.tenant_id = "te";
  e.user_id = "us";
  e.seq = 7;
  e.is_final = true;
  e.payload = R"({"result":{}})";
  e.metadata["b"] = "2";
  e.metadata["a"] = R"("x")";
  EXPECT_EQ(encode_ok(e),
            std::string(R"({"spec_version":"acp/1.0","schema_version":1,"event_id":")") + kId +
                R"(","event_type":"agent.response.final","frame_type":"response.final","occurred_at":")" + kAt +
                R"(","trace_id":"t","span_id":"s","traceparent":"tp","session_id":"se","conversation_id":"co",)"
                R"("correlation_id":"cr","reply_to":"rt","from":"fr","to":"to","channel":"ch","tenant_id":"te",)"
                R"("user_id":"us","seq":7,"is_final":true,"payload":{"result":{}},"metadata":{"a":"x","b":2}})");
}

TEST(EnvelopeEncodeTest, OmitsEmptyOptionalFields) {
  Envelope e = minimal();
  e.seq = 0;
  e.is_final = false;
  EXPECT_EQ(encode_ok(e), std::string(R"({"spec_version":"acp/1.0","schema_version":1,"event_id":")") + kId +
                              R"(","event_type":"agent.response.final","occurred_at":")" + kAt + R"("})");
  e.payload = "null";  // never "payload":null (WIRE.md §1.1)
  EXPECT_EQ(encode_ok(e).find("payload"), std::string::npos);
  e.payload = " null ";
  EXPECT_EQ(encode_ok(e).find("payload"), std::string::npos);
}

TEST(EnvelopeEncodeTest, FillsVersionsIdAndTime) {
  Envelope e;
  e.spec_version.clear();
  e.schema_version = 0;
  e.event_type = "x.y";
  json j = json::parse(encode_ok(e));
  EXPECT_EQ(j["spec_version"], "acp/1.0");
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["event_id"].get<std::string>().size(), 36u);
  EXPECT_EQ(j["event_id"].get<std::string>()[14], '7');
  auto t = parse_timestamp(j["occurred_at"].get<std::string>());
  ASSERT_TRUE(t.has_value());
  EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - *t), std::chrono::seconds(5));
  e.schema_version = -3;
  EXPECT_EQ(json::parse(encode_ok(e))["schema_version"], 1);
  e.schema_version = 2;  // a higher version is written as given
  EXPECT_EQ(json::parse(encode_ok(e))["schema_version"], 2);
}

TEST(EnvelopeEncodeTest, EscapesStringsExactlyLikeGo) {
  Envelope e = minimal();
  // <>& , U+2028/U+2029, quote, backslash, the named controls, other controls,
  // DEL, raw non-ASCII (2, 3 and 4 bytes), '/' unescaped.
  e.from = "a<b>&c\xE2\x80\xA8\xE2\x80\xA9\"\\\b\f\n\r\t\x01\x1f\x7f/\xC3\xA9\xE6\xAD\xA3\xF0\x9F\x98\x80";
  const std::string out = encode_ok(e);
  EXPECT_THAT(out, HasSubstr(R"("from":"a\u003cb\u003e\u0026c\u2028\u2029\"\\\b\f\n\r\t\u0001\u001f)"
                             "\x7f/\xC3\xA9\xE6\xAD\xA3\xF0\x9F\x98\x80\""));
  EXPECT_EQ(decode_ok(out).from, e.from);
}

TEST(EnvelopeEncodeTest, MetadataKeysAreSortedAndEscaped) {
  Envelope e = minimal();
  e.metadata["zeta"] = "1";
  e.metadata["Alpha"] = "2";  // uppercase sorts first, byte-wise like Go
  e.metadata["a<b"] = "true";
  e.metadata["\xC3\xA9"] = "null";  // non-ASCII sorts after ASCII (unsigned bytes)
  EXPECT_THAT(encode_ok(e), HasSubstr(R"("metadata":{"Alpha":2,"a\u003cb":true,"zeta":1,")"
                                      "\xC3\xA9\":null}}"));
}

TEST(EnvelopeEncodeTest, PayloadAndMetadataValuesAreWrittenVerbatim) {
  Envelope e = minimal();
  e.payload = "{ \"x\" : \"\\u00e9<\" , \"n\": 1.50 }";
  e.metadata["m"] = "[1, 2,\t3]";
  const std::string out = encode_ok(e);
  EXPECT_THAT(out, HasSubstr("\"payload\":{ \"x\" : \"\\u00e9<\" , \"n\": 1.50 }"));
  EXPECT_THAT(out, HasSubstr("\"metadata\":{\"m\":[1, 2,\t3]}"));
  EXPECT_TRUE(json::accept(out));
}

TEST(EnvelopeEncodeTest, RejectsWhatItMustNotEmit) {
  Envelope e = minimal();
  e.event_type.clear();
  Status s = encode_envelope(e).status();
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(s.message(), HasSubstr("event_type"));

  e = minimal();
  e.payload = "{not json}";
  s = encode_envelope(e).status();
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(s.message(), HasSubstr("payload"));

  e = minimal();
  e.payload = "{} {}";
  EXPECT_EQ(encode_envelope(e).status().code(), ErrorCode::kCodecFailure);

  e = minimal();
  e.metadata["k"] = "";  // an empty value is not JSON
  s = encode_envelope(e).status();
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(s.message(), HasSubstr("\"k\""));

  e = minimal();
  e.metadata["k"] = "abc";  // a bare word is not a JSON string; json_quote() it
  EXPECT_EQ(encode_envelope(e).status().code(), ErrorCode::kCodecFailure);

  e = minimal();
  e.to = "bad \xC3(";
  s = encode_envelope(e).status();
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(s.message(), HasSubstr("to is not valid UTF-8"));

  e = minimal();
  e.metadata["\xFF"] = "1";
  EXPECT_EQ(encode_envelope(e).status().code(), ErrorCode::kCodecFailure);
}

TEST(EnvelopeEncodeTest, NeverWritesWhatTheDecoderRejectsAsTooDeep) {
  // Payload is one level down, metadata values two: the limits that keep the whole
  // envelope within kMaxJsonDepth (512), which decode_envelope enforces.
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  Envelope e = minimal();
  e.payload = nested(511);
  ASSERT_TRUE(decode_envelope(encode_ok(e)).ok());
  e.payload = nested(512);
  Status s = encode_envelope(e).status();
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(s.message(), HasSubstr("nesting too deep"));
  e = minimal();
  e.metadata["m"] = nested(510);
  ASSERT_TRUE(decode_envelope(encode_ok(e)).ok());
  e.metadata["m"] = nested(511);
  EXPECT_EQ(encode_envelope(e).status().code(), ErrorCode::kCodecFailure);
}

TEST(EnvelopeEncodeTest, AppendsAndLeavesTheBufferIntactOnFailure) {
  std::string buf = "prefix:";
  ASSERT_TRUE(encode_envelope(minimal(), &buf).ok());
  EXPECT_EQ(buf.rfind("prefix:{\"spec_version\"", 0), 0u);
  const std::string before = buf;
  Envelope bad = minimal();
  bad.metadata["z"] = "{";
  EXPECT_FALSE(encode_envelope(bad, &buf).ok());
  EXPECT_EQ(buf, before);
}

TEST(EnvelopeEncodeTest, StrictTypesOnTheWire) {
  Envelope e = minimal();
  e.seq = UINT64_MAX;
  e.is_final = true;
  e.metadata["acp.retry.attempt"] = "2";
  const std::string out = encode_ok(e);
  EXPECT_THAT(out, HasSubstr(R"("seq":18446744073709551615,"is_final":true)"));
  json j = json::parse(out);
  EXPECT_TRUE(j["seq"].is_number_unsigned());
  EXPECT_TRUE(j["is_final"].is_boolean());
  EXPECT_TRUE(j["metadata"].is_object());
  EXPECT_TRUE(j["schema_version"].is_number_integer());
  EXPECT_EQ(decode_ok(out).seq, UINT64_MAX);
}

// ---- Decoder: leniency --------------------------------------------------------------

TEST(EnvelopeDecodeTest, IgnoresUnknownKeysOfAnyShape) {
  Envelope e = decode_ok(frame(R"(,"future_field":{"nested":[1,2,{"x":null}]},"another":-1.5e3,"seq":2)"));
  EXPECT_EQ(e.seq, 2u);
  EXPECT_EQ(e.event_type, "agent.response.delta");
}

TEST(EnvelopeDecodeTest, DecodesEscapesAndSurrogatePairs) {
  // What Python sends: every non-ASCII character escaped; Go's \u003c etc.
  Envelope e = decode_ok(frame(R"(,"from":"\u6b63\u5728 \ud83d\ude00 \u003cb\u003e \u0026 \"q\" \\ \/","payload":{"d":"\u6b63"})"));
  EXPECT_EQ(e.from, "\xE6\xAD\xA3\xE5\x9C\xA8 \xF0\x9F\x98\x80 <b> & \"q\" \\ /");
  EXPECT_EQ(e.payload, R"({"d":"\u6b63"})");  // payload bytes untouched
  // Escaped keys are decoded before matching.
  EXPECT_EQ(decode_ok(frame(R"(,"\u0073eq":4)")).seq, 4u);
}

TEST(EnvelopeDecodeTest, AcceptsShuffledKeysAndWhitespace) {
  Envelope e = decode_ok(" \n{ \"payload\" : [ 1 ] ,\"is_final\":true, \"seq\" :\t9 , \"occurred_at\":\"2026-05-02T10:00:00Z\","
                         "\"event_type\":\"agent.response.final\",\"event_id\":\"x\",\"schema_version\":1,"
                         "\"spec_version\":\"acp/1.0\" }\r\n");
  EXPECT_EQ(e.payload, "[ 1 ]");
  EXPECT_TRUE(e.is_final);
  EXPECT_EQ(e.seq, 9u);
  EXPECT_EQ(e.event_type, "agent.response.final");
}

TEST(EnvelopeDecodeTest, MissingFieldsTakeDefaults) {
  Envelope e = decode_ok(R"({"event_type":"agent.response.delta"})");
  EXPECT_EQ(e.seq, 0u);
  EXPECT_FALSE(e.is_final);
  EXPECT_FALSE(e.has_payload());
  EXPECT_TRUE(e.metadata.empty());
  EXPECT_EQ(e.schema_version, 1);
  EXPECT_EQ(e.spec_version, "acp/1.0");
  EXPECT_TRUE(e.event_id.empty());
  EXPECT_TRUE(e.occurred_at.empty());
  EXPECT_EQ(decode_ok(frame(R"(,"seq":0)")).seq, 0u);
}

TEST(EnvelopeDecodeTest, NullMeansAbsent) {
  Envelope e = decode_ok(frame(R"(,"from":null,"to":"x","to":null,"seq":null,"is_final":null,"payload":null,)"
                               R"("metadata":null,"frame_type":null,"correlation_id":null,"schema_version":null)"));
  EXPECT_TRUE(e.from.empty());
  EXPECT_TRUE(e.to.empty());
  EXPECT_EQ(e.seq, 0u);
  EXPECT_FALSE(e.is_final);
  EXPECT_FALSE(e.has_payload());
  EXPECT_TRUE(e.metadata.empty());
  EXPECT_EQ(e.schema_version, 1);
  EXPECT_EQ(decode_ok(frame(R"(,"occurred_at":null)")).occurred_at, "");
}

TEST(EnvelopeDecodeTest, AcceptsAnyStringAsIds) {
  Envelope e = decode_ok(R"({"event_id":"019DE7EB-BAAB-4E67-BB77-A7A03A666140","event_type":"agent.task.completed",)"
                         R"("correlation_id":"$ev:example.org","occurred_at":"2026-05-02T10:00:00Z"})");
  EXPECT_EQ(e.event_id, "019DE7EB-BAAB-4E67-BB77-A7A03A666140");
  EXPECT_EQ(e.correlation_id, "$ev:example.org");
  EXPECT_EQ(decode_ok(frame(R"(,"event_id":"not-a-uuid")")).event_id, "not-a-uuid");
}

TEST(EnvelopeDecodeTest, NormalisesTimestampsToGoUtc) {
  auto at = [](std::string_view ts) {
    return decode_ok(std::string(R"({"event_type":"x","occurred_at":")") + std::string(ts) + "\"}").occurred_at;
  };
  EXPECT_EQ(at("2026-05-02T10:00:00.123456Z"), "2026-05-02T10:00:00.123456Z");
  EXPECT_EQ(at("2026-05-02T10:00:00.120000Z"), "2026-05-02T10:00:00.12Z");
  EXPECT_EQ(at("2026-05-02T12:00:00.5+02:00"), "2026-05-02T10:00:00.5Z");
  EXPECT_EQ(at("2026-05-02T10:00:00.000Z"), "2026-05-02T10:00:00Z");
  EXPECT_EQ(at("2026-05-02T10:00:00.1234567890Z"), "2026-05-02T10:00:00.123456789Z");
  EXPECT_EQ(at("yesterday"), "");  // unknown, frame kept
  EXPECT_EQ(at("2026-02-30T10:00:00Z"), "");
}

TEST(EnvelopeDecodeTest, DuplicateKeysLastWins) {
  Envelope e = decode_ok(frame(R"(,"seq":1,"seq":2,"metadata":{"a":1,"a":2,"b":3},"metadata":{"c":4},"payload":1,"payload":{})"));
  EXPECT_EQ(e.seq, 2u);
  EXPECT_EQ(e.metadata, (Metadata{{"c", "4"}}));
  EXPECT_EQ(e.payload, "{}");
  e = decode_ok(frame(R"(,"metadata":{"a":1,"a":[2]})"));
  EXPECT_EQ(e.metadata, (Metadata{{"a", "[2]"}}));
}

TEST(EnvelopeDecodeTest, MetadataValuesStayRawUnderDecodedKeys) {
  Envelope e = decode_ok(frame(R"(,"metadata":{"acp.cancel":true,"acp.heartbeat_ms":1000,"k\u00e9":"v\u00e9",)"
                               R"("obj":{ "x" : [1] },"nul":null})"));
  EXPECT_EQ(e.metadata.at("acp.cancel"), "true");
  EXPECT_EQ(e.metadata.at("k\xC3\xA9"), R"("v\u00e9")");
  EXPECT_EQ(e.metadata.at("obj"), R"({ "x" : [1] })");
  EXPECT_EQ(e.metadata.at("nul"), "null");
  EXPECT_EQ(metadata_bool(e.metadata, meta_key::kCancel), true);
  EXPECT_EQ(metadata_int(e.metadata, meta_key::kHeartbeatMs), 1000);
  EXPECT_EQ(metadata_string(e.metadata, "k\xC3\xA9"), "v\xC3\xA9");
}

TEST(EnvelopeDecodeTest, FrameTypeOfAMappedTypeIsOverridden) {
  Envelope e = decode_ok(R"({"event_type":"agent.response.delta","frame_type":"response.final"})");
  EXPECT_EQ(e.frame_type, "response.final");  // kept as sent
  EXPECT_EQ(effective_frame_type(e), "response.delta");
  e = decode_ok(R"({"event_type":"goc.incident","frame_type":"custom"})");
  EXPECT_EQ(effective_frame_type(e), "custom");
}

// ---- Decoder: strictness ------------------------------------------------------------

struct RejectCase {
  std::string input;
  std::string message_part;
};

TEST(EnvelopeDecodeTest, RejectsWhatGoRejects) {
  const RejectCase cases[] = {
      {frame(R"(,"seq":1.0)"), "seq must be a non-negative integer, got 1.0"},
      {frame(R"(,"seq":1e3)"), "seq must be a non-negative integer, got 1e3"},
      {frame(R"(,"seq":-1)"), "seq must be a non-negative integer, got -1"},
      {frame(R"(,"seq":-0)"), "seq must be a non-negative integer, got -0"},
      {frame(R"(,"seq":"1")"), R"(seq must be a non-negative integer, got "1")"},
      {frame(R"(,"seq":true)"), "seq must be a non-negative integer, got true"},
      {frame(R"(,"seq":18446744073709551616)"), "seq out of range"},
      {frame(R"(,"is_final":"true")"), R"(is_final must be a boolean, got "true")"},
      {frame(R"(,"is_final":1)"), "is_final must be a boolean, got 1"},
      {frame(R"(,"metadata":[])"), "metadata must be an object, got []"},
      {frame(R"(,"metadata":"a=b")"), "metadata must be an object"},
      {frame(R"(,"schema_version":1.5)"), "schema_version must be an integer, got 1.5"},
      {frame(R"(,"schema_version":"1")"), "schema_version must be an integer"},
      {frame(R"(,"schema_version":1e0)"), "schema_version must be an integer"},
      {frame(R"(,"from":5)"), "from must be a string, got 5"},
      {frame(R"(,"event_type":["a"])"), "event_type must be a string"},
      {"[]", "body must be a JSON object, got []"},
      {R"("envelope")", "body must be a JSON object"},
      {"42", "body must be a JSON object"},
      {"null", "body must be a JSON object"},
      {"", "empty input"},
      {"  \n", "empty input"},
      {frame("") + " x", "unexpected data after the envelope"},
      {frame("") + "{}", "unexpected data after the envelope"},
      {frame("").substr(0, 40), "invalid JSON"},
      {frame(R"(,"future":{"a":})"), "invalid JSON"},
      {frame(R"(,"payload":{"a":1,})"), "invalid JSON"},
      {frame(R"(,"payload":"\ud800")"), "lone high surrogate"},
      {frame(",\"from\":\"\xC3(\""), "invalid UTF-8"},
      {frame(R"(,"seq":01)"), "invalid JSON"},
      {R"({"event_type":"x",})", "invalid JSON"},
  };
  for (const auto& c : cases) {
    Status s = decode_status(c.input);
    EXPECT_EQ(s.code(), ErrorCode::kCodecFailure) << c.input;
    EXPECT_THAT(s.message(), HasSubstr(c.message_part)) << c.input;
  }
}

TEST(EnvelopeDecodeTest, NestingLimitCountsTheEnvelopeItself) {
  // The envelope is level 1, so a payload may nest kMaxJsonDepth - 1 levels: exactly
  // what is_valid_json allows for the whole text, so the two never disagree.
  auto with_payload_depth = [](int depth) {
    return frame(",\"payload\":" + std::string(depth, '[') + std::string(depth, ']'));
  };
  const std::string ok = with_payload_depth(511);
  const std::string deep = with_payload_depth(512);
  EXPECT_TRUE(decode_envelope(ok).ok());
  EXPECT_TRUE(is_valid_json(ok));
  Status s = decode_status(deep);
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(s.message(), HasSubstr("nesting too deep"));
  EXPECT_FALSE(is_valid_json(deep));
}

TEST(EnvelopeDecodeTest, LongOffendingValuesAreTruncatedInMessages) {
  Status s = decode_status(frame(R"(,"seq":")" + std::string(500, 'x') + "\""));
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_LT(s.message().size(), 150u);
  EXPECT_THAT(s.message(), HasSubstr("..."));
}

TEST(EnvelopeDecodeTest, RoundTripKeepsEveryField) {
  Envelope e = minimal("goc.incident.created");
  e.frame_type = "custom";
  e.trace_id = "0af7651916cd43dd8448eb211c80319c";
  e.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  e.session_id = "s\xC3\xA9";
  e.reply_to = "_INBOX.x";
  e.tenant_id = "t";
  e.seq = 12;
  e.is_final = true;
  e.payload = R"({"a":[1,2.5,"<&>"]})";
  e.metadata["k"] = R"({"x":null})";
  e.occurred_at = "2026-05-02T10:00:00.000000001Z";
  Envelope back = decode_ok(encode_ok(e));
  EXPECT_EQ(encode_ok(back), encode_ok(e));
  EXPECT_EQ(back.session_id, e.session_id);
  EXPECT_EQ(back.payload, e.payload);
  EXPECT_EQ(back.metadata, e.metadata);
  EXPECT_EQ(back.occurred_at, e.occurred_at);
  EXPECT_EQ(back.seq, 12u);
  EXPECT_TRUE(back.is_final);
}

}  // namespace
}  // namespace oaio
