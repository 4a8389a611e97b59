// ErrorPayload encoding and decoding (WIRE.md §7).
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oaio/envelope.h"

namespace oaio {
namespace {

TEST(ErrorPayloadTest, EncodesInGoFieldOrder) {
  EXPECT_EQ(encode_error_payload(Status::timeout("deadline exceeded")),
            R"({"code":"AGENT_TIMEOUT","message":"deadline exceeded","retryable":true})");
  EXPECT_EQ(encode_error_payload(Status::invalid("stream cancelled by caller"), R"({"reason":"cancelled"})"),
            R"({"code":"INVALID_REQUEST","message":"stream cancelled by caller","retryable":false,)"
            R"("cause":{"reason":"cancelled"}})");
  EXPECT_EQ(encode_error_payload(Status(ErrorCode::kAgentUnavailable, "x <y>", true)),
            R"({"code":"AGENT_UNAVAILABLE","message":"x \u003cy\u003e","retryable":true})");
}

TEST(ErrorPayloadTest, OmitsEmptyOrInvalidCause) {
  const std::string plain = R"({"code":"NO_HANDLER","message":"m","retryable":false})";
  EXPECT_EQ(encode_error_payload(Status::no_handler("m"), ""), plain);
  EXPECT_EQ(encode_error_payload(Status::no_handler("m"), "{}"), plain);
  EXPECT_EQ(encode_error_payload(Status::no_handler("m"), " { } "), plain);
  EXPECT_EQ(encode_error_payload(Status::no_handler("m"), "[1]"), plain);
  EXPECT_EQ(encode_error_payload(Status::no_handler("m"), "{\"a\":"), plain);
  // A cause that would nest too deeply once the payload is inside an envelope is
  // dropped, so the payload can always be sent.
  const std::string deep = "{\"a\":" + std::string(510, '[') + std::string(510, ']') + "}";  // 511 levels
  EXPECT_EQ(encode_error_payload(Status::no_handler("m"), deep), plain);
  const std::string ok = "{\"a\":" + std::string(509, '[') + std::string(509, ']') + "}";  // 510 levels
  Envelope e = make_envelope(event_type::kResponseError, encode_error_payload(Status::no_handler("m"), ok));
  EXPECT_TRUE(encode_envelope(e).ok());
  EXPECT_NE(encode_error_payload(Status::no_handler("m"), ok), plain);
}

TEST(ErrorPayloadTest, OnlyAcpCodesAndReadableMessagesGoOut) {
  Status foreign = Status::unknown_code("INTERNAL_ERROR", "boom", false);
  EXPECT_EQ(encode_error_payload(foreign), R"({"code":"AGENT_UNAVAILABLE","message":"boom","retryable":false})");
  EXPECT_EQ(encode_error_payload(Status::codec("")),
            R"({"code":"CODEC_FAILURE","message":"agent error","retryable":false})");
  // Bad UTF-8 in error text cannot make the payload invalid.
  EXPECT_TRUE(is_valid_json(encode_error_payload(Status::unavailable("bad \xFF byte"))));
}

TEST(ErrorPayloadTest, EveryCodeRoundTrips) {
  const ErrorCode codes[] = {ErrorCode::kAgentTimeout, ErrorCode::kAgentUnavailable, ErrorCode::kBackpressureDrop,
                             ErrorCode::kTransportFailure, ErrorCode::kCodecFailure, ErrorCode::kAuthFailure,
                             ErrorCode::kInvalidRequest, ErrorCode::kNoHandler};
  for (ErrorCode code : codes) {
    for (bool retryable : {false, true}) {
      Status s(code, "msg \"quoted\" \xE6\xAD\xA3", retryable);
      const std::string text = encode_error_payload(s);
      EXPECT_TRUE(nlohmann::json::parse(text)["retryable"].is_boolean());
      EXPECT_EQ(decode_error_payload(text), s) << text;
    }
  }
}

TEST(ErrorPayloadTest, DecodesLeniently) {
  // Python always writes "cause":{}; keys in any order; extra keys ignored.
  Status s = decode_error_payload(
      R"({"retryable":false,"extra":[1],"cause":{},"message":"bad input","code":"INVALID_REQUEST"})");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(s.message(), "bad input");
  EXPECT_FALSE(s.retryable());

  // A missing retryable takes the code's default.
  s = decode_error_payload(R"({"code":"TRANSPORT_FAILURE","message":"down"})");
  EXPECT_EQ(s.code(), ErrorCode::kTransportFailure);
  EXPECT_TRUE(s.retryable());

  // Unknown codes are kept as text, 500, not retryable by default.
  s = decode_error_payload(R"({"code":"INTERNAL_ERROR","message":"panic"})");
  EXPECT_EQ(s.code(), ErrorCode::kUnknown);
  EXPECT_EQ(s.code_name(), "INTERNAL_ERROR");
  EXPECT_FALSE(s.retryable());
  EXPECT_EQ(http_status_for(s.code()), 500);

  // Missing code and message (as the gateway maps them, WIRE.md §10).
  s = decode_error_payload(R"({"retryable":true})");
  EXPECT_EQ(s.code(), ErrorCode::kAgentUnavailable);
  EXPECT_EQ(s.message(), "agent error");
  EXPECT_TRUE(s.retryable());
  s = decode_error_payload(R"({"code":"AUTH_FAILURE","message":""})");
  EXPECT_EQ(s.code(), ErrorCode::kAuthFailure);
  EXPECT_EQ(s.message(), "agent error");

  // Wrong types for known keys are ignored rather than trusted.
  s = decode_error_payload(R"({"code":7,"message":{"m":1},"retryable":"yes"})");
  EXPECT_EQ(s.code(), ErrorCode::kAgentUnavailable);
  EXPECT_EQ(s.message(), "agent error");
  EXPECT_FALSE(s.retryable());

  // Escapes in the message are decoded.
  EXPECT_EQ(decode_error_payload(R"({"code":"NO_HANDLER","message":"\u6b63 \u003c"})").message(), "\xE6\xAD\xA3 <");
}

TEST(ErrorPayloadTest, NonObjectsNeverFail) {
  for (const char* text : {R"("just text")", "[1,2]", "42", "{broken", "{} trailing", "null"}) {
    Status s = decode_error_payload(text);
    EXPECT_EQ(s.code(), ErrorCode::kAgentUnavailable) << text;
    EXPECT_EQ(s.message(), text);
    EXPECT_FALSE(s.retryable());
  }
  Status empty = decode_error_payload("");
  EXPECT_EQ(empty.code(), ErrorCode::kAgentUnavailable);
  EXPECT_EQ(empty.message(), "agent error");
}

}  // namespace
}  // namespace oaio
