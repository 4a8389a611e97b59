// parse_config: our endpoints/sources form, the seed's openclaw_chat_sse form as is,
// and clear errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config.h"

namespace oaio::sse {
namespace {

TEST(SseConfig, SchemaIsJson) {
  auto j = nlohmann::json::parse(config_schema(), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_TRUE(j["properties"].contains("endpoints"));
  EXPECT_TRUE(j["properties"].contains("mappings"));
}

TEST(SseConfig, Endpoints) {
  BridgeConfig c;
  Status s = parse_config(R"({"endpoints":[{"target":"llm.chat","base_url":"http://x/v1","api_key":"k","model":"m",
      "params":{"temperature":0},"headers":{"X-A":"b"},"request_timeout":120,"idle_timeout":2.5,"retries":3}]})",
                          "br", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(c.endpoints.size(), 1u);
  const EndpointConfig& ep = c.endpoints[0];
  EXPECT_EQ(ep.target, "llm.chat");
  EXPECT_EQ(ep.request_timeout_ms, 120000u);
  EXPECT_EQ(ep.idle_timeout_ms, 2500u);
  EXPECT_EQ(ep.retries, 3u);
  EXPECT_EQ(ep.headers.size(), 1u);
  EXPECT_TRUE(config_secrets(c).empty()) << "keys shorter than 4 bytes are not redacted";
}

TEST(SseConfig, SeedOpenclawConfigUnchanged) {
  BridgeConfig c;
  Status s = parse_config(R"({"base_url":"https://gateway.example/v1","token":"tok-123456","model":"openclaw/default",
      "request_timeout":"30","mappings":{"text_field":"text","session_field":"x-openclaw-session-key","metadata_prefix":"openclaw."}})",
                          "openclaw.wechat", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(c.endpoints.size(), 1u);
  const EndpointConfig& ep = c.endpoints[0];
  EXPECT_EQ(ep.target, "openclaw.wechat");
  EXPECT_EQ(ep.api_key, "tok-123456");
  EXPECT_EQ(ep.idle_timeout_ms, 30000u);
  EXPECT_EQ(ep.session_header, "x-openclaw-session-key");
  EXPECT_EQ(ep.metadata_prefix, "openclaw.");
  EXPECT_TRUE(ep.session_as_user);
  EXPECT_EQ(config_secrets(c), std::vector<std::string>{"tok-123456"});
}

TEST(SseConfig, SeedDefaultsAndTimeoutAlias) {
  BridgeConfig c;
  ASSERT_TRUE(parse_config(R"({"base_url":"http://x/v1","model":"m","timeout":30,"mappings":{"text_field":"text",
      "session_field":"session_id","metadata_prefix":""}})", "b", &c).ok());
  EXPECT_EQ(c.endpoints[0].idle_timeout_ms, 30000u);
  EXPECT_EQ(c.endpoints[0].session_header, "session_id");
  EXPECT_EQ(c.endpoints[0].metadata_prefix, "openclaw.");
}

TEST(SseConfig, Sources) {
  BridgeConfig c;
  ASSERT_TRUE(parse_config(R"({"sources":[{"url":"http://x/events","event_type":"ext.ticker","reconnect_ms":50}]})", "b", &c).ok());
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].reconnect_ms, 50u);
  EXPECT_EQ(c.sources[0].name, "source0");
}

TEST(SseConfig, Errors) {
  BridgeConfig c;
  EXPECT_EQ(parse_config("{}", "b", &c).code(), OAIO_ERR_INVALID_REQUEST);
  Status reserved = parse_config(R"({"endpoints":[{"target":"t","base_url":"u","model":"m","params":{"stream":false}}]})", "b", &c);
  EXPECT_NE(reserved.message().find("/endpoints/0/params"), std::string::npos) << reserved.message();
  Status dup = parse_config(R"({"endpoints":[{"target":"t","base_url":"u","model":"m"},{"target":"t","base_url":"u","model":"m"}]})", "b", &c);
  EXPECT_NE(dup.message().find("declared twice"), std::string::npos);
  EXPECT_FALSE(parse_config(R"({"base_url":"http://x"})", "b", &c).ok()) << "the seed form needs a model";
  EXPECT_FALSE(parse_config(R"({"base_url":"http://x","model":"m","request_timeout":"soon"})", "b", &c).ok());
}

}  // namespace
}  // namespace oaio::sse
