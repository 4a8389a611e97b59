// Golden samples and the JSON Schema (WIRE.md §12, first checklist item): every
// sample decodes to the expected values, validates, and survives a round trip; every
// kind of envelope the C++ runtime emits validates against envelope.schema.json.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oaio/envelope.h"
#include "schema_validator.h"
#include "support/test_util.h"

namespace oaio {
namespace {

using nlohmann::json;

std::string golden(const std::string& name) {
  std::string text = test::read_file(test::test_data_path("golden/" + name));
  EXPECT_FALSE(text.empty()) << "missing golden file " << name;
  return text;
}

Envelope decode_golden(const std::string& name) {
  auto r = decode_envelope(golden(name));
  EXPECT_TRUE(r.ok()) << name << ": " << r.status().to_string();
  return r.ok() ? *r : Envelope{};
}

std::string encode_ok(const Envelope& env) {
  auto r = encode_envelope(env);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::string("{}");
}

class GoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { schema_ = new test::EnvelopeSchema(); }
  static void TearDownTestSuite() { delete schema_; }
  static std::string schema_errors(const std::string& text) { return schema_->errors(text); }
  static test::EnvelopeSchema* schema_;
};
test::EnvelopeSchema* GoldenTest::schema_ = nullptr;

const char* const kGoldenFiles[] = {"message_received.json", "response_started.json", "response_delta.json",
                                    "response_final.json", "response_error.json"};

TEST_F(GoldenTest, AllSamplesValidateAgainstTheSchema) {
  for (const char* name : kGoldenFiles) EXPECT_EQ(schema_errors(golden(name)), "") << name;
}

TEST_F(GoldenTest, MessageReceivedValues) {
  Envelope e = decode_golden("message_received.json");
  EXPECT_EQ(e.spec_version, "acp/1.0");
  EXPECT_EQ(e.schema_version, 1);
  EXPECT_EQ(e.event_id, "019de7eb-baab-7e67-bb77-a7a03a666140");
  EXPECT_EQ(e.event_type, event_type::kMessageReceived);
  EXPECT_EQ(e.frame_type, "request");
  EXPECT_EQ(e.occurred_at, "2026-05-02T10:00:00Z");
  EXPECT_EQ(e.from, "user-gateway");
  EXPECT_EQ(e.to, "main-agent");
  EXPECT_EQ(e.session_id, "sess_demo");
  EXPECT_EQ(e.conversation_id, "conv_demo");
  EXPECT_EQ(e.channel, "dingtalk");
  EXPECT_EQ(e.tenant_id, "tenant_demo");
  EXPECT_EQ(e.user_id, "user_demo");
  EXPECT_EQ(e.payload, R"({"text": "hello"})");  // verbatim, inner space kept
  EXPECT_EQ(e.seq, 0u);
  EXPECT_FALSE(e.is_final);
  EXPECT_TRUE(e.correlation_id.empty());
  EXPECT_TRUE(e.metadata.empty());
}

TEST_F(GoldenTest, ResponseStartedValues) {
  Envelope e = decode_golden("response_started.json");
  EXPECT_EQ(e.event_type, event_type::kResponseStarted);
  EXPECT_EQ(e.frame_type, "response.started");
  EXPECT_EQ(e.occurred_at, "2026-05-02T10:00:00.123Z");
  EXPECT_EQ(e.correlation_id, "019de7eb-baab-7e67-bb77-a7a03a666140");
  EXPECT_EQ(e.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(e.span_id, "b7ad6b7169203331");
  EXPECT_EQ(e.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(e.seq, 0u);
  EXPECT_EQ(json::parse(e.payload), json::parse(R"({"meta":{"model":"qwen-max"}})"));
}

TEST_F(GoldenTest, ResponseDeltaValues) {
  Envelope e = decode_golden("response_delta.json");
  EXPECT_EQ(e.event_type, event_type::kResponseDelta);
  EXPECT_EQ(effective_frame_type(e), "response.delta");
  EXPECT_EQ(e.occurred_at, "2026-05-02T10:00:00.456Z");
  EXPECT_EQ(e.seq, 1u);
  EXPECT_FALSE(e.is_final);
  EXPECT_EQ(e.payload, "{\"delta\": \"\xE6\xAD\xA3\xE5\x9C\xA8\xE5\x88\x86\xE6\x9E\x90...\"}");  // 正在分析..., raw UTF-8
}

TEST_F(GoldenTest, ResponseFinalValues) {
  Envelope e = decode_golden("response_final.json");
  EXPECT_EQ(e.event_type, event_type::kResponseFinal);
  EXPECT_EQ(e.seq, 3u);
  EXPECT_TRUE(e.is_final);
  EXPECT_TRUE(is_terminal_event_type(e.event_type));
  EXPECT_EQ(json::parse(e.payload)["result"]["answer"], "42");
}

TEST_F(GoldenTest, ResponseErrorValues) {
  Envelope e = decode_golden("response_error.json");
  EXPECT_EQ(e.event_type, event_type::kResponseError);
  EXPECT_EQ(e.occurred_at, "2026-05-02T10:00:01.789Z");
  EXPECT_EQ(e.seq, 1u);
  EXPECT_TRUE(e.is_final);
  Status err = decode_error_payload(e.payload);
  EXPECT_EQ(err.code(), ErrorCode::kAgentTimeout);
  EXPECT_EQ(err.message(), "deadline exceeded");
  EXPECT_TRUE(err.retryable());
}

TEST_F(GoldenTest, ReencodingResponseStartedDropsSeqZero) {
  const std::string original = golden("response_started.json");
  ASSERT_NE(original.find("\"seq\": 0"), std::string::npos);  // the sample really has it
  std::string out = encode_ok(decode_golden("response_started.json"));
  EXPECT_EQ(out.find("\"seq\""), std::string::npos) << out;
  json expected = json::parse(original);
  expected.erase("seq");
  EXPECT_EQ(json::parse(out), expected);
}

TEST_F(GoldenTest, RoundTripsAreSemanticallyEqual) {
  for (const char* name : kGoldenFiles) {
    const std::string original = golden(name);
    const std::string out = encode_ok(decode_golden(name));
    json expected = json::parse(original);
    if (expected.contains("seq") && expected["seq"] == 0) expected.erase("seq");  // omission rule
    EXPECT_EQ(json::parse(out), expected) << name << "\n" << out;
    EXPECT_EQ(schema_errors(out), "") << name;
    // A second pass is byte-stable.
    auto again = decode_envelope(out);
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_EQ(encode_ok(*again), out) << name;
  }
}

TEST_F(GoldenTest, EncodingUsesCanonicalKeyOrderInCompactForm) {
  // What the Go SDK writes for message_received.json: canonical order, no spaces
  // between tokens, payload bytes as given.
  EXPECT_EQ(encode_ok(decode_golden("message_received.json")),
            R"({"spec_version":"acp/1.0","schema_version":1,"event_id":"019de7eb-baab-7e67-bb77-a7a03a666140",)"
            R"("event_type":"agent.message.received","frame_type":"request","occurred_at":"2026-05-02T10:00:00Z",)"
            R"("session_id":"sess_demo","conversation_id":"conv_demo","from":"user-gateway","to":"main-agent",)"
            R"("channel":"dingtalk","tenant_id":"tenant_demo","user_id":"user_demo","payload":{"text": "hello"}})");
}

// The schema must really be enforced, or the positive tests above prove nothing.
TEST_F(GoldenTest, SchemaRejectsBrokenEnvelopes) {
  json delta = json::parse(golden("response_delta.json"));
  delta["is_final"] = true;  // is_final on a non-terminal type and frame type
  EXPECT_NE(schema_errors(delta.dump()), "");

  json error = json::parse(golden("response_error.json"));
  error["payload"].erase("retryable");  // the $defs'd ErrorPayload requires it
  EXPECT_NE(schema_errors(error.dump()), "");
  error = json::parse(golden("response_error.json"));
  error["payload"]["code"] = "INTERNAL_ERROR";  // not in the closed code list
  EXPECT_NE(schema_errors(error.dump()), "");

  json request = json::parse(golden("message_received.json"));
  request["seq"] = -1;
  EXPECT_NE(schema_errors(request.dump()), "");
  request = json::parse(golden("message_received.json"));
  request["occurred_at"] = "2026-05-02 10:00:00";
  EXPECT_NE(schema_errors(request.dump()), "");
  request = json::parse(golden("message_received.json"));
  request.erase("event_id");
  EXPECT_NE(schema_errors(request.dump()), "");
  request = json::parse(golden("message_received.json"));
  request["metadata"] = json::array();
  EXPECT_NE(schema_errors(request.dump()), "");

  // is_final with a terminal frame_type on an application event type is allowed.
  json custom = json::parse(golden("response_final.json"));
  custom["event_type"] = "goc.incident.closed";
  custom["frame_type"] = "tool.result";
  EXPECT_EQ(schema_errors(custom.dump()), "");
}

// Every kind of envelope the runtime emits (WIRE.md §2, §7, §9, §10, §11).
TEST_F(GoldenTest, EveryEmittedKindValidates) {
  Envelope request = make_envelope(event_type::kMessageReceived, R"({"text":"hi <b>&</b>"})");
  request.frame_type = std::string(canonical_frame_type(request.event_type));
  request.reply_to = "_INBOX.abc.1";
  request.from = "cpp-client";
  request.to = "echo";
  request.metadata["acp.cancel"] = "true";
  request.metadata["acp.heartbeat_ms"] = "1000";
  request.metadata["dingtalk.msg"] = R"({"id":7})";

  auto reply = [&](std::string_view type) {
    Envelope e = make_envelope(type);
    e.frame_type = std::string(canonical_frame_type(type));
    e.correlation_id = request.event_id;
    e.from = "echo";
    e.to = "cpp-client";
    e.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    return e;
  };
  Envelope started = reply(event_type::kResponseStarted);
  started.payload = R"({"meta":{}})";
  Envelope delta = reply(event_type::kResponseDelta);
  delta.seq = 2;
  delta.payload = R"({"delta":"\u6b63"})";
  Envelope final_frame = reply(event_type::kResponseFinal);
  final_frame.seq = 3;
  final_frame.is_final = true;
  final_frame.payload = R"({"result":{"answer":"42"}})";
  Envelope no_payload_final = reply(event_type::kResponseFinal);
  no_payload_final.is_final = true;
  Envelope error = reply(event_type::kResponseError);
  error.seq = 4;
  error.is_final = true;
  error.payload = encode_error_payload(Status::timeout("deadline exceeded"));
  Envelope cancelled = reply(event_type::kResponseError);
  cancelled.is_final = true;
  cancelled.payload = encode_error_payload(Status::invalid("stream cancelled by caller"), R"({"reason":"cancelled"})");
  Envelope synthetic = make_envelope(event_type::kResponseError, encode_error_payload(Status::unavailable("boom")));
  synthetic.frame_type = "response.error";
  synthetic.is_final = true;
  Envelope heartbeat = make_envelope(event_type::kResponseHeartbeat);  // no frame_type, seq, is_final
  heartbeat.correlation_id = request.event_id;
  Envelope cancel = make_envelope(event_type::kRequestCancel, R"({"reason":"timeout"})");
  cancel.correlation_id = request.event_id;
  Envelope published = make_envelope("goc.incident.created", R"([1,2,3])");
  Envelope dlq = request;
  dlq.metadata[std::string(meta_key::kDlqOriginalEventType)] = json_quote(request.event_type);
  dlq.metadata[std::string(meta_key::kDlqLastError)] = json_quote("handler failed: \"x\"");
  dlq.metadata[std::string(meta_key::kRetryAttempt)] = "3";

  const Envelope* all[] = {&request, &started, &delta, &final_frame, &no_payload_final, &error,
                           &cancelled, &synthetic, &heartbeat, &cancel, &published, &dlq};
  for (const Envelope* e : all) {
    const std::string out = encode_ok(*e);
    EXPECT_EQ(schema_errors(out), "") << out;
    auto back = decode_envelope(out);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->event_id, e->event_id);
  }
  EXPECT_EQ(encode_ok(heartbeat).find("frame_type"), std::string::npos);
}

}  // namespace
}  // namespace oaio
