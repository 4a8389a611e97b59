// ChatStreamAssembler: deltas, tool calls grouped and assembled by index, the usage
// chunk with empty choices, errors inside the stream, and streams without [DONE].
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat_stream.h"

namespace oaio::sse {
namespace {

using Json = nlohmann::json;
using Step = ChatStreamAssembler::Step;

ChatStreamAssembler make() { return ChatStreamAssembler(ErrorContext{"sse 'chat': ", {"sk-secret-key"}}); }

TEST(SseChatStream, TextDeltasUsageAndFinal) {
  auto a = make();
  std::vector<std::string> d;
  EXPECT_EQ(a.on_data(R"({"id":"r1","model":"m1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})", d),
            Step::kContinue);
  EXPECT_TRUE(d.empty()) << "an empty content piece is not a delta";
  a.on_data(R"({"id":"r1","choices":[{"index":0,"delta":{"content":"Hel"}}]})", d);
  a.on_data(R"({"id":"r1","choices":[{"index":0,"delta":{"content":"lo \u00e9"},"finish_reason":"stop"}]})", d);
  a.on_data(R"({"id":"r1","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}})", d);
  EXPECT_EQ(a.on_data("[DONE]", d), Step::kDone);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(Json::parse(d[0]), Json::parse(R"({"delta":"Hel"})"));
  EXPECT_EQ(Json::parse(d[1])["delta"], "lo \xC3\xA9");
  Json meta = Json::parse(a.started_meta());
  EXPECT_EQ(meta["model"], "m1");
  EXPECT_EQ(meta["id"], "r1");
  Json fin = Json::parse(a.final_payload());
  EXPECT_EQ(fin["text"], "Hello \xC3\xA9");
  EXPECT_EQ(fin["finish_reason"], "stop");
  EXPECT_EQ(fin["usage"]["total_tokens"], 5);
  EXPECT_TRUE(fin["tool_calls"].empty());
  EXPECT_EQ(a.finish(), Step::kDone);
}

TEST(SseChatStream, ToolCallsGroupedByIndex) {
  auto a = make();
  std::vector<std::string> d;
  a.on_data(R"({"choices":[{"index":0,"delta":{"tool_calls":[
      {"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}},
      {"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz"}}]}}]})", d);
  a.on_data(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]})", d);
  a.on_data(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\":\"UTC\"}"}},
      {"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":"tool_calls"}]})", d);
  a.on_data("[DONE]", d);
  ASSERT_EQ(d.size(), 3u);
  Json first = Json::parse(d[0]);
  ASSERT_EQ(first["tool_calls"].size(), 2u);
  EXPECT_EQ(first["tool_calls"][0]["index"], 0);
  EXPECT_EQ(first["tool_calls"][0]["id"], "call_a");
  EXPECT_EQ(first["tool_calls"][0]["function"]["name"], "get_weather");
  Json third = Json::parse(d[2]);
  EXPECT_EQ(third["tool_calls"][0]["index"], 0) << "pieces of one chunk are sorted by index";
  Json fin = Json::parse(a.final_payload());
  EXPECT_EQ(fin["finish_reason"], "tool_calls");
  ASSERT_EQ(fin["tool_calls"].size(), 2u);
  EXPECT_EQ(fin["tool_calls"][0]["function"]["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(fin["tool_calls"][0]["id"], "call_a");
  EXPECT_EQ(fin["tool_calls"][1]["function"]["name"], "get_time");
  EXPECT_EQ(fin["tool_calls"][1]["function"]["arguments"], R"({"tz":"UTC"})");
  EXPECT_EQ(fin["text"], "");
}

TEST(SseChatStream, OtherChoicesIgnored) {
  auto a = make();
  std::vector<std::string> d;
  a.on_data(R"({"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]})", d);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(a.text(), "mine");
}

TEST(SseChatStream, ErrorObjectMidStreamIsAnError) {
  auto a = make();
  std::vector<std::string> d;
  a.on_data(R"({"choices":[{"index":0,"delta":{"content":"partial"}}]})", d);
  EXPECT_EQ(a.on_data(R"j({"error":{"message":"upstream crashed (key sk-secret-key)","type":"server_error"}})j", d),
            Step::kError);
  EXPECT_EQ(a.error().code(), OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_NE(a.error().message().find("upstream crashed"), std::string::npos) << a.error().message();
  EXPECT_EQ(a.error().message().find("sk-secret-key"), std::string::npos) << "the key is redacted";
  EXPECT_EQ(a.finish(), Step::kError);
}

TEST(SseChatStream, ErrorKindsByCode) {
  std::vector<std::string> d;
  auto a = make();
  a.on_data(R"({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}})", d);
  EXPECT_EQ(a.error().code(), OAIO_ERR_AUTH);
  auto b = make();
  b.on_data(R"({"error":{"message":"This model's maximum context length is 8192","code":"context_length_exceeded"}})", d);
  EXPECT_EQ(b.error().code(), OAIO_ERR_INVALID_REQUEST);
  auto c = make();
  c.on_data(R"({"error":{"message":"slow down","code":"rate_limit_exceeded"}})", d);
  EXPECT_EQ(c.error().code(), OAIO_ERR_BACKPRESSURE);
}

TEST(SseChatStream, MissingDoneIsAnError) {
  auto a = make();
  std::vector<std::string> d;
  a.on_data(R"({"choices":[{"index":0,"delta":{"content":"half"},"finish_reason":null}]})", d);
  EXPECT_EQ(a.finish(), Step::kError);
  EXPECT_EQ(a.error().code(), OAIO_ERR_TRANSPORT);
  EXPECT_NE(a.error().message().find("without [DONE]"), std::string::npos);
  auto empty = make();
  EXPECT_EQ(empty.finish(), Step::kError);
}

TEST(SseChatStream, NonJsonDataIsAnError) {
  auto a = make();
  std::vector<std::string> d;
  EXPECT_EQ(a.on_data("not json", d), Step::kError);
  EXPECT_EQ(a.error().code(), OAIO_ERR_CODEC);
}

TEST(SseChatStream, WholeJsonCompletionWhenStreamWasIgnored) {
  auto a = make();
  std::vector<std::string> d;
  EXPECT_EQ(a.on_whole_body(R"({"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"all",
      "tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
      "usage":{"total_tokens":4}})", d),
            Step::kDone);
  ASSERT_EQ(d.size(), 2u);
  Json fin = Json::parse(a.final_payload());
  EXPECT_EQ(fin["text"], "all");
  EXPECT_EQ(fin["tool_calls"][0]["function"]["name"], "f");
  EXPECT_EQ(fin["usage"]["total_tokens"], 4);
  auto b = make();
  EXPECT_EQ(b.on_whole_body(R"({"error":{"message":"bad key","code":"invalid_api_key"}})", d), Step::kError);
  EXPECT_EQ(b.error().code(), OAIO_ERR_AUTH);
  auto c = make();
  EXPECT_EQ(c.on_whole_body("<html>proxy error</html>", d), Step::kError);
}

TEST(SseChatStream, NothingAfterDone) {
  auto a = make();
  std::vector<std::string> d;
  a.on_data("[DONE]", d);
  EXPECT_EQ(a.on_data(R"({"choices":[{"index":0,"delta":{"content":"late"}}]})", d), Step::kDone);
  EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace oaio::sse
