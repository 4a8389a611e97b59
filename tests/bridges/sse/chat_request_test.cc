// build_chat_request: text or messages, parameters and their precedence, reserved
// fields, headers (API key, extra headers, session header).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "chat_request.h"

namespace oaio::sse {
namespace {

using Json = nlohmann::json;

EndpointConfig endpoint() {
  EndpointConfig ep;
  ep.target = "chat";
  ep.base_url = "http://127.0.0.1:9/v1/";
  ep.api_key = "sk-test";
  ep.model = "gpt-test";
  ep.params = Json{{"temperature", 0.2}, {"max_tokens", 100}};
  ep.headers = {{"X-Org", "acme"}};
  return ep;
}

bool has_header(const ChatRequest& r, const std::string& h) {
  return std::find(r.headers.begin(), r.headers.end(), h) != r.headers.end();
}

TEST(SseChatRequest, TextBecomesOneUserTurn) {
  ChatRequest r;
  ASSERT_TRUE(build_chat_request(endpoint(), {R"({"text":"hi"})", "", ""}, &r).ok());
  EXPECT_EQ(r.url, "http://127.0.0.1:9/v1/chat/completions");
  Json b = Json::parse(r.body);
  EXPECT_EQ(b["model"], "gpt-test");
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
  EXPECT_EQ(b["messages"], Json::parse(R"([{"role":"user","content":"hi"}])"));
  EXPECT_EQ(b["temperature"], 0.2);
  EXPECT_TRUE(has_header(r, "Authorization: Bearer sk-test"));
  EXPECT_TRUE(has_header(r, "X-Org: acme"));
  EXPECT_TRUE(has_header(r, "Accept: text/event-stream"));
}

TEST(SseChatRequest, MessagesHistoryWithAllRolesAndParameters) {
  ChatRequest r;
  std::string payload = R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"2+2?"},
    {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"calc","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"c1","content":"4"}],"temperature":0.9,"tools":[{"type":"function","function":{"name":"calc"}}],
    "tool_choice":"auto","stop":["\n"]})";
  ASSERT_TRUE(build_chat_request(endpoint(), {payload, "", ""}, &r).ok());
  Json b = Json::parse(r.body);
  EXPECT_EQ(b["messages"].size(), 4u);
  EXPECT_EQ(b["messages"][3]["role"], "tool");
  EXPECT_EQ(b["temperature"], 0.9) << "payload beats endpoint defaults";
  EXPECT_EQ(b["max_tokens"], 100);
  EXPECT_EQ(b["tool_choice"], "auto");
  EXPECT_EQ(b["tools"].size(), 1u);
  EXPECT_EQ(b["stop"][0], "\n");
}

TEST(SseChatRequest, TextAfterMessagesIsTheLastUserTurn) {
  ChatRequest r;
  ASSERT_TRUE(build_chat_request(endpoint(), {R"({"messages":[{"role":"system","content":"s"}],"text":"q"})", "", ""}, &r).ok());
  Json b = Json::parse(r.body);
  ASSERT_EQ(b["messages"].size(), 2u);
  EXPECT_EQ(b["messages"][1]["content"], "q");
}

TEST(SseChatRequest, ReservedFieldsAreRefused) {
  for (const char* key : {"model", "stream", "stream_options"}) {
    ChatRequest r;
    std::string payload = std::string(R"({"text":"hi",")") + key + R"(":"x"})";
    Status s = build_chat_request(endpoint(), {payload, "", ""}, &r);
    EXPECT_EQ(s.code(), OAIO_ERR_INVALID_REQUEST) << key;
    EXPECT_NE(s.message().find(std::string("'") + key + "' is reserved"), std::string::npos) << s.message();
  }
}

TEST(SseChatRequest, BadPayloadsAreInvalidRequests) {
  ChatRequest r;
  for (const char* p : {"", "[1]", "{}", R"({"text":5})", R"({"messages":"x"})", R"({"messages":[{"role":"robot"}]})",
                        R"({"messages":[]})", "not json"}) {
    Status s = build_chat_request(endpoint(), {p, "", ""}, &r);
    EXPECT_EQ(s.code(), OAIO_ERR_INVALID_REQUEST) << p;
  }
}

TEST(SseChatRequest, SeedMappingsTextFieldSessionHeaderAndMetadataPrefix) {
  EndpointConfig ep = endpoint();
  ep.text_field = "prompt";
  ep.session_header = "x-openclaw-session-key";
  ep.metadata_prefix = "openclaw.";
  ep.session_as_user = true;
  ChatRequest r;
  std::string meta = R"({"openclaw.channel_type":"wechat","openclaw.temperature":0.5,"openclaw.model":"evil","other":1})";
  ASSERT_TRUE(build_chat_request(ep, {R"({"prompt":"hello","temperature":0.7})", "sess-1", meta}, &r).ok());
  Json b = Json::parse(r.body);
  EXPECT_EQ(b["messages"][0]["content"], "hello");
  EXPECT_EQ(b["channel_type"], "wechat");
  EXPECT_EQ(b["temperature"], 0.7) << "payload beats metadata";
  EXPECT_EQ(b["model"], "gpt-test") << "metadata cannot set reserved fields";
  EXPECT_FALSE(b.contains("other"));
  EXPECT_EQ(b["user"], "sess-1");
  EXPECT_TRUE(has_header(r, "x-openclaw-session-key: sess-1"));
}

TEST(SseChatRequest, NoAuthorizationWithoutKey) {
  EndpointConfig ep = endpoint();
  ep.api_key.clear();
  ep.include_usage = false;
  ChatRequest r;
  ASSERT_TRUE(build_chat_request(ep, {R"({"text":"x"})", "", ""}, &r).ok());
  for (const auto& h : r.headers) EXPECT_EQ(h.rfind("Authorization", 0), std::string::npos);
  EXPECT_FALSE(Json::parse(r.body).contains("stream_options"));
}

}  // namespace
}  // namespace oaio::sse
