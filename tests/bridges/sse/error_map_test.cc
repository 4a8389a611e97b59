// Error mapping: HTTP statuses, curl failures, Retry-After, upstream message, redaction.
#include <gtest/gtest.h>

#include "error_map.h"

namespace oaio::sse {
namespace {

const ErrorContext kCtx{"sse 'chat': ", {"sk-live-123456"}};

TEST(SseErrorMap, HttpStatuses) {
  struct Case {
    long status;
    oaio_status code;
    bool retryable;
  } cases[] = {{401, OAIO_ERR_AUTH, false},          {403, OAIO_ERR_AUTH, false},
               {400, OAIO_ERR_INVALID_REQUEST, false}, {404, OAIO_ERR_INVALID_REQUEST, false},
               {422, OAIO_ERR_INVALID_REQUEST, false}, {429, OAIO_ERR_BACKPRESSURE, true},
               {500, OAIO_ERR_TRANSPORT, true},      {502, OAIO_ERR_TRANSPORT, true},
               {503, OAIO_ERR_AGENT_UNAVAILABLE, true}, {408, OAIO_ERR_AGENT_TIMEOUT, false}};
  for (const Case& c : cases) {
    Status s = status_from_http(c.status, R"({"error":{"message":"boom"}})", "", kCtx);
    EXPECT_EQ(s.code(), c.code) << c.status;
    EXPECT_EQ(is_retryable(s), c.retryable) << c.status << " (timeouts are not retried by the bridge)";
    EXPECT_EQ(s.message(), "sse 'chat': HTTP " + std::to_string(c.status) + ": boom");
  }
}

TEST(SseErrorMap, RetryAfterSecondsAndDate) {
  EXPECT_EQ(status_from_http(429, "", "7", kCtx).retry_after_ms(), 7000u);
  EXPECT_EQ(parse_retry_after_ms(" 2 \r\n"), 2000u);
  EXPECT_EQ(parse_retry_after_ms("soon"), 0u);
  EXPECT_EQ(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), 0u) << "a date in the past";
  EXPECT_GT(parse_retry_after_ms("Fri, 01 Jan 2100 00:00:00 GMT"), 1000000u);
}

TEST(SseErrorMap, UpstreamMessageIsTrimmedAndRedacted) {
  std::string body = R"({"error":{"message":"Incorrect API key provided: sk-live-123456.\n  See docs.","code":"invalid_api_key"}})";
  Status s = status_from_http(401, body, "", kCtx);
  EXPECT_EQ(s.message(), "sse 'chat': HTTP 401: Incorrect API key provided: ***. See docs.");
  std::string long_body(5000, 'x');
  EXPECT_LT(status_from_http(500, long_body, "", kCtx).message().size(), 400u);
  EXPECT_EQ(upstream_message(R"({"detail":"not found"})"), "not found");
  EXPECT_EQ(upstream_message("plain text"), "plain text");
}

TEST(SseErrorMap, CurlFailures) {
  EXPECT_EQ(status_from_curl(CURLE_OPERATION_TIMEDOUT, "", kCtx).code(), OAIO_ERR_AGENT_TIMEOUT);
  Status refused = status_from_curl(CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 port 9", kCtx);
  EXPECT_EQ(refused.code(), OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_TRUE(is_retryable(refused));
  EXPECT_NE(refused.message().find("port 9"), std::string::npos);
  EXPECT_EQ(status_from_curl(CURLE_RECV_ERROR, "", kCtx).code(), OAIO_ERR_TRANSPORT);
  EXPECT_EQ(status_from_curl(CURLE_PARTIAL_FILE, "", kCtx).code(), OAIO_ERR_TRANSPORT);
  EXPECT_EQ(status_from_curl(CURLE_URL_MALFORMAT, "", kCtx).code(), OAIO_ERR_INVALID_REQUEST);
}

}  // namespace
}  // namespace oaio::sse
