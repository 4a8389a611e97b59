// Unit tests of oaio_mcp_core without servers: JSON-RPC framing (messages, lines, SSE),
// the tool-name mapping round trip, result and error mapping, redaction, argument
// validation messages, config parsing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "arg_validator.h"
#include "config.h"
#include "jsonrpc.h"
#include "result_mapping.h"
#include "tool_names.h"

namespace oaio::mcp {
namespace {

// ---- JSON-RPC messages ------------------------------------------------------------------

TEST(McpJsonRpc, ParsesEveryMessageKind) {
  std::string err;
  auto req = parse_frame(R"({"jsonrpc":"2.0","id":7,"method":"ping"})", &err);
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].kind, MessageKind::kRequest);
  EXPECT_EQ(req[0].id, 7);
  auto note = parse_frame(R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}})", &err);
  ASSERT_EQ(note.size(), 1u);
  EXPECT_EQ(note[0].kind, MessageKind::kNotification);
  EXPECT_EQ(note[0].params["progress"], 1);
  auto res = parse_frame(R"({"jsonrpc":"2.0","id":"a","result":{"x":1}})", &err);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].kind, MessageKind::kResult);
  EXPECT_EQ(res[0].id, "a");
  auto e = parse_frame(R"({"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"bad","data":{"f":1}}})", &err);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].kind, MessageKind::kError);
  EXPECT_EQ(e[0].error_code, -32602);
  EXPECT_EQ(e[0].error_message, "bad");
  auto batch = parse_frame(R"([{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","id":1,"result":{}}])", &err);
  EXPECT_EQ(batch.size(), 2u);
}

TEST(McpJsonRpc, RejectsMalformedFramesWithAReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"42", "not a JSON object"},
      {R"({"id":1,"result":{}})", "jsonrpc"},
      {R"({"jsonrpc":"1.0","id":1,"result":{}})", "jsonrpc"},
      {R"({"jsonrpc":"2.0","method":5})", "method"},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"x"})", "id"},
      {R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1}})", "exactly one"},
      {R"({"jsonrpc":"2.0","id":1,"error":{"message":"no code"}})", "code"},
      {R"({"jsonrpc":"2.0","method":"x","params":"str"})", "params"},
      {"[]", "empty batch"},
  };
  for (const auto& c : cases) {
    std::string err;
    EXPECT_TRUE(parse_frame(c.text, &err).empty()) << c.text;
    EXPECT_NE(err.find(c.reason), std::string::npos) << c.text << " -> " << err;
    EXPECT_EQ(err.find("no code"), std::string::npos) << "the reason must not quote the input";
  }
}

TEST(McpJsonRpc, BuildsMessagesThatParseBack) {
  auto r = parse_frame(make_request(5, "tools/call", {{"name", "echo"}}), nullptr);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].method, "tools/call");
  EXPECT_EQ(r[0].params["name"], "echo");
  auto n = parse_frame(make_notification("notifications/initialized", Json()), nullptr);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_TRUE(n[0].params.is_null());
  auto e = parse_frame(make_error(Json("x"), kMethodNotFound, "nope"), nullptr);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].error_code, kMethodNotFound);
  // Invalid UTF-8 in a value is replaced, not thrown.
  EXPECT_NO_THROW(make_request(1, "x", {{"s", std::string("\xff\xfe")}}));
}

TEST(McpJsonRpc, WritesCompactMessagesWithEveryMember) {
  EXPECT_EQ(make_request(5, "tools/call", {{"name", "echo"}, {"arguments", {{"message", "h\"i"}}}}),
            R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"arguments":{"message":"h\"i"},"name":"echo"}})");
  EXPECT_EQ(make_request(6, "ping", Json()), R"({"jsonrpc":"2.0","id":6,"method":"ping"})");
  EXPECT_EQ(make_notification("notifications/initialized", Json()),
            R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(make_notification("notifications/cancelled", {{"requestId", 3}}),
            R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}})");
  EXPECT_EQ(make_result(Json("a\"b"), Json::object()), R"({"jsonrpc":"2.0","id":"a\"b","result":{}})");
  EXPECT_EQ(make_error(Json(7), kMethodNotFound, "no \"x\""),
            R"({"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"no \"x\""}})");
  EXPECT_EQ(make_request(1, "x", {{"s", std::string("\xff")}}), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"s\":\"\xEF\xBF\xBD\"}}");
}

TEST(McpJsonRpc, SniffsTheIdOfAnOversizedFrame) {
  EXPECT_EQ(sniff_id(R"({"jsonrpc":"2.0","id":42,"result":{"content":"xxxx)", ""), 42);
  EXPECT_EQ(sniff_id(R"({"result":{"content":[{"text":"xx)", R"(xx"}]},"jsonrpc":"2.0","id": 17})"), 17);
  EXPECT_FALSE(sniff_id("xxxxx", "yyyy").has_value());
}

// ---- framing ----------------------------------------------------------------------------

TEST(McpFraming, LineSplitterHandlesPartialCrLfBlankAndOversizedLines) {
  std::vector<std::string> lines;
  std::vector<std::size_t> oversized;
  LineSplitter s(
      16, [&](std::string_view l) { lines.emplace_back(l); },
      [&](std::string_view, std::string_view, std::size_t n) { oversized.push_back(n); });
  s.feed("ab");
  s.feed("c\r\n\n  \nde");
  s.feed("f\n0123456789");
  s.feed("0123456789abc\nok\n");
  EXPECT_EQ(lines, (std::vector<std::string>{"abc", "def", "ok"}));
  ASSERT_EQ(oversized.size(), 1u);
  EXPECT_EQ(oversized[0], 23u);
}

TEST(McpFraming, SseParserFollowsTheEventStreamRules) {
  std::vector<std::string> data, events, ids;
  std::vector<std::string> errors;
  SseParser p(
      64,
      [&](std::string_view e, std::string_view d, std::string_view id) {
        events.emplace_back(e);
        data.emplace_back(d);
        ids.emplace_back(id);
      },
      [&](std::string_view r) { errors.emplace_back(r); });
  p.feed(": keep-alive\n\nevent: message\nid: 1\ndata: {\"a\":");
  p.feed("1}\n\ndata:line1\r\ndata: line2\r\n\r");
  p.feed("\ndata: ");
  p.feed(std::string(100, 'x'));
  p.feed("\n\ndata: last");
  p.finish();
  EXPECT_EQ(data, (std::vector<std::string>{"{\"a\":1}", "line1\nline2", "last"}));
  EXPECT_EQ(events[0], "message");
  EXPECT_EQ(events[1], "message");
  EXPECT_EQ(ids[0], "1");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("larger than 64 bytes"), std::string::npos);
  EXPECT_EQ(p.last_event_id(), "1");
  EXPECT_EQ(p.retry_ms(), -1);
}

TEST(McpFraming, SseParserKeepsRetryAndLastEventIdForResumption) {
  SseParser p(1024, [](std::string_view, std::string_view, std::string_view) {}, [](std::string_view) {});
  p.feed("id: event-1\nretry: 500\ndata: \n\n");
  EXPECT_EQ(p.last_event_id(), "event-1");
  EXPECT_EQ(p.retry_ms(), 500);
  p.feed("retry: soon\nretry: 99999999999\nid: event-2\n\n");  // invalid retry values are ignored
  EXPECT_EQ(p.retry_ms(), 500);
  EXPECT_EQ(p.last_event_id(), "event-2");
}

// ---- tool names -------------------------------------------------------------------------

TEST(McpToolNames, SafeNamesAreUnchanged) {
  EXPECT_EQ(encode_tool_name("get-sum"), "get-sum");
  EXPECT_EQ(encode_tool_name("get_tiny_image2"), "get_tiny_image2");
}

TEST(McpToolNames, UnsafeBytesAreEscapedAndRoundTrip) {
  EXPECT_EQ(encode_tool_name("weird.name v2"), "weird~2Ename~20v2");
  EXPECT_EQ(encode_tool_name("a~b"), "a~7Eb");
  EXPECT_EQ(encode_tool_name("a*>"), "a~2A~3E");
  EXPECT_EQ(encode_tool_name("é"), "~C3~A9");
  for (std::string name : {"echo", "weird.name v2", "a~b", "~7E", "über/tool:v1", "x.y.z", "tab\there", "*", ">"}) {
    std::string token = encode_tool_name(name);
    EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~"),
              std::string::npos)
        << token;
    auto back = decode_tool_name(token);
    ASSERT_TRUE(back.has_value()) << token;
    EXPECT_EQ(*back, name);
  }
}

TEST(McpToolNames, NonCanonicalTokensDoNotDecode) {
  EXPECT_FALSE(decode_tool_name("a~2e").has_value());   // lowercase hex
  EXPECT_FALSE(decode_tool_name("a~41").has_value());   // 'A' is never escaped
  EXPECT_FALSE(decode_tool_name("a~4").has_value());    // truncated escape
  EXPECT_FALSE(decode_tool_name("a.b").has_value());    // a raw unsafe byte
  EXPECT_FALSE(decode_tool_name("").has_value());
}

// ---- results and errors -----------------------------------------------------------------

TEST(McpResultMapping, FinalPayloadHasContentStructuredContentAndText) {
  Json one = Json::parse(R"({"content":[{"type":"text","text":"hi"}]})");
  EXPECT_EQ(final_payload(one), Json::parse(R"({"content":[{"type":"text","text":"hi"}],"text":"hi"})"));
  Json two = Json::parse(
      R"({"content":[{"type":"text","text":"a"},{"type":"image","data":"AA==","mimeType":"image/png"}],)"
      R"("structuredContent":{"t":1}})");
  Json out = final_payload(two);
  EXPECT_FALSE(out.contains("text"));
  EXPECT_EQ(out["content"].size(), 2u);
  EXPECT_EQ(out["structuredContent"]["t"], 1);
  EXPECT_EQ(final_payload(Json::object()), Json::parse(R"({"content":[]})"));
}

TEST(McpResultMapping, ToolErrorsAreTrimmedRedactedAndNotRetryable) {
  Json r = Json::parse(R"({"isError":true,"content":[{"type":"text","text":"  failed: Bearer abc.def and sk-secret-123 \n"}]})");
  ASSERT_TRUE(is_tool_error(r));
  CallError e = tool_error(r, {"sk-secret-123"});
  EXPECT_EQ(e.code, OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_EQ(e.retryable, 0);
  EXPECT_EQ(e.message, "failed: Bearer [REDACTED] and [REDACTED]");
  EXPECT_FALSE(is_tool_error(Json::parse(R"({"isError":false,"content":[]})")));
  EXPECT_EQ(tool_error(Json::parse(R"({"isError":true})"), {}).message, "the tool reported an error without text");
  Json big = {{"isError", true}, {"content", {{{"type", "text"}, {"text", std::string(10000, 'e')}}}}};
  EXPECT_LE(tool_error(big, {}).message.size(), 4100u);
}

TEST(McpResultMapping, ErrorCodeTable) {
  EXPECT_EQ(code_for_jsonrpc_error(-32602), OAIO_ERR_INVALID_REQUEST);
  EXPECT_EQ(code_for_jsonrpc_error(-32700), OAIO_ERR_CODEC);
  EXPECT_EQ(code_for_jsonrpc_error(-32600), OAIO_ERR_CODEC);
  EXPECT_EQ(code_for_jsonrpc_error(-32601), OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_EQ(code_for_jsonrpc_error(-32603), OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_EQ(code_for_jsonrpc_error(-1), OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_EQ(code_for_http_status(401), OAIO_ERR_AUTH);
  EXPECT_EQ(code_for_http_status(403), OAIO_ERR_AUTH);
  EXPECT_EQ(code_for_http_status(400), OAIO_ERR_INVALID_REQUEST);
  EXPECT_EQ(code_for_http_status(413), OAIO_ERR_INVALID_REQUEST);
  EXPECT_EQ(code_for_http_status(504), OAIO_ERR_AGENT_TIMEOUT);
  EXPECT_EQ(code_for_http_status(429), OAIO_ERR_BACKPRESSURE);
  EXPECT_EQ(code_for_http_status(502), OAIO_ERR_TRANSPORT);
  EXPECT_EQ(code_for_http_status(404), OAIO_ERR_AGENT_UNAVAILABLE);
}

// ---- argument validation ----------------------------------------------------------------

TEST(McpArgValidator, NamesTheOffendingField) {
  ArgValidator v(Json::parse(R"({"type":"object","properties":{"a":{"type":"number"},
      "opts":{"type":"object","properties":{"mode":{"enum":["x","y"]}}}},"required":["a"]})"));
  EXPECT_TRUE(v.compile_error().empty());
  EXPECT_FALSE(v.validate(Json::parse(R"({"a":1})")).has_value());
  auto missing = v.validate(Json::object());
  ASSERT_TRUE(missing.has_value());
  EXPECT_NE(missing->find("'a'"), std::string::npos) << *missing;
  auto type = v.validate(Json::parse(R"({"a":"one"})"));
  ASSERT_TRUE(type.has_value());
  EXPECT_EQ(type->rfind("argument 'a': ", 0), 0u) << *type;
  auto nested = v.validate(Json::parse(R"({"a":1,"opts":{"mode":"z"}})"));
  ASSERT_TRUE(nested.has_value());
  EXPECT_EQ(nested->rfind("argument 'opts.mode': ", 0), 0u) << *nested;
}

TEST(McpArgValidator, UnusableSchemasAreAllowedThrough) {
  ArgValidator none(Json{});
  EXPECT_FALSE(none.validate(Json::parse(R"({"anything":1})")).has_value());
  ArgValidator remote(Json::parse(R"({"$ref":"https://example.invalid/schema.json"})"));
  EXPECT_FALSE(remote.compile_error().empty());
  EXPECT_FALSE(remote.validate(Json::object()).has_value());
  // A 2020-12 "$schema" (zod v4 writes one) is not a reason to refuse.
  ArgValidator modern(Json::parse(
      R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","required":["m"]})"));
  EXPECT_TRUE(modern.validate(Json::object()).has_value());
}

// ---- config -----------------------------------------------------------------------------

TEST(McpConfig, SeedMcpToolConfigWorksUnchanged) {
  BridgeConfig c = parse_config(R"({"transport":"stdio","command":"npx","args":["-y","srv"],"env":{"A":"1"},
      "timeout":10,"mappings":{"target_prefix":"tools.fs","tool":"","text_field":"text"}})",
                                "mcp-fs");
  EXPECT_EQ(c.transport, TransportKind::kStdio);
  EXPECT_EQ(c.stdio.command, "npx");
  EXPECT_EQ(c.stdio.args.size(), 2u);
  EXPECT_EQ(c.prefix, "tools.fs");
  EXPECT_EQ(c.call_timeout.count(), 10000);
  BridgeConfig h = parse_config(
      R"({"transport":"streamable_http","http_url":"http://127.0.0.1:1/mcp","headers":{"X-Api-Key":"k3y-value"},"token":"t0ken","timeout":"2.5"})",
      "web");
  EXPECT_EQ(h.transport, TransportKind::kStreamableHttp);
  EXPECT_EQ(h.prefix, "web");
  EXPECT_EQ(h.call_timeout.count(), 2500);
  EXPECT_EQ(h.secrets(), (std::vector<std::string>{"t0ken", "k3y-value"}));
  BridgeConfig e = parse_config(R"({"command":"x","env":{"GITHUB_TOKEN":"ghp_abcdef","DEBUG":"1"}})", "b");
  EXPECT_EQ(e.secrets(), (std::vector<std::string>{"ghp_abcdef"}));
}

TEST(McpConfig, BadConfigsNameTheKey) {
  auto message = [](const char* text) {
    try {
      parse_config(text, "b");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message(R"({"transport":"stdio"})").find("'command'"), std::string::npos);
  EXPECT_NE(message(R"({"transport":"streamable_http"})").find("'http_url'"), std::string::npos);
  EXPECT_NE(message(R"({"command":"x","timeout":"soon"})").find("'timeout'"), std::string::npos);
  EXPECT_NE(message(R"({"command":"x","colour":"red"})").find("'colour'"), std::string::npos);
  EXPECT_NE(message(R"({"command":"x","transport":"sse"})").find("'transport'"), std::string::npos);
  EXPECT_NE(message(R"({"command":"x","prefix":"a b"})").find("prefix"), std::string::npos);
}

TEST(McpConfig, AllowAndDenyGlobs) {
  BridgeConfig c = parse_config(R"({"command":"x","allow":["get-*","echo"],"deny":["get-env"]})", "b");
  EXPECT_TRUE(c.tool_allowed("echo"));
  EXPECT_TRUE(c.tool_allowed("get-sum"));
  EXPECT_FALSE(c.tool_allowed("get-env"));
  EXPECT_FALSE(c.tool_allowed("trigger-long-running-operation"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(glob_match("a*b", "ac"));
}

}  // namespace
}  // namespace oaio::mcp
