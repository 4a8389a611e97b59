// Reply and request shaping (WIRE.md §4 reply shell, handler-returned envelopes and
// client step 2; §8 metadata inheritance, nested-call propagation and traceparent).
#include "reply_builder.h"

#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "oaio/call.h"

namespace oaio::detail {
namespace {

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kAgent[] = "agent-x";

bool is_uuid_v7(const std::string& id) {
  static const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  return std::regex_match(id, re);
}

Envelope make_request() {
  Envelope r = make_envelope(event_type::kMessageReceived, R"({"q":"hi"})");
  r.frame_type = "request";
  r.from = "client-1";
  r.to = kAgent;
  r.reply_to = "_INBOX.abc123";
  r.session_id = "sess-1";
  r.conversation_id = "conv-1";
  r.tenant_id = "tenant_a";
  r.user_id = "user-1";
  r.channel = "matrix";
  r.trace_id = "trace-1";
  r.span_id = "span-1";
  r.traceparent = kTraceparent;
  r.seq = 7;
  r.metadata = {{"acp.cancel", "true"}, {"acp.retry.attempt", "2"}, {"biz.a", "\"1\""}, {"biz.b", "2"}};
  return r;
}

// Every field that the shell copies from the request, rendered for one comparison.
std::string context_of(const Envelope& e) {
  return "from=" + e.from + " to=" + e.to + " corr=" + e.correlation_id + " sess=" + e.session_id +
         " conv=" + e.conversation_id + " tenant=" + e.tenant_id + " user=" + e.user_id + " chan=" + e.channel +
         " trace=" + e.trace_id + " span=" + e.span_id + " tp=" + e.traceparent + " reply_to=" + e.reply_to;
}

// ---- metadata ----

TEST(MetadataTest, InheritedMetadataDropsReservedKeys) {
  Metadata req = {{"acp.cancel", "true"}, {"acp.", "1"}, {"acpx", "2"}, {"ACP.upper", "3"}, {"biz", "4"}};
  Metadata want = {{"acpx", "2"}, {"ACP.upper", "3"}, {"biz", "4"}};
  EXPECT_EQ(inherited_metadata(req), want);
  EXPECT_TRUE(inherited_metadata({{"acp.retry.attempt", "1"}}).empty());
}

TEST(MetadataTest, MergedMetadataOverlaysHandlerKeysAndDropsReservedKeysFromBoth) {
  const Metadata req = {{"a", "1"}, {"b", "2"}, {"acp.retry.attempt", "1"}};
  const Metadata own = {{"b", "20"}, {"c", "3"}, {"acp.cancel", "true"}};
  const Metadata req_copy = req, own_copy = own;
  Metadata want = {{"a", "1"}, {"b", "20"}, {"c", "3"}};
  EXPECT_EQ(merged_metadata(req, own), want);
  EXPECT_EQ(req, req_copy) << "inputs must not be modified";
  EXPECT_EQ(own, own_copy) << "inputs must not be modified";
}

TEST(MetadataTest, EmptyHandlerMapStillInherits) {
  Metadata want = {{"a", "1"}};
  EXPECT_EQ(merged_metadata({{"a", "1"}, {"acp.cancel", "true"}}, {}), want);
  EXPECT_TRUE(merged_metadata({{"acp.cancel", "true"}}, {{"acp.dlq.last_error", "\"x\""}}).empty());
  EXPECT_TRUE(merged_metadata({}, {}).empty());
}

// ---- reply shell ----

TEST(ReplyShellTest, HasTheShellFields) {
  const Envelope req = make_request();
  Envelope shell = make_reply_shell(req, event_type::kResponseDelta, kAgent);
  EXPECT_EQ(shell.spec_version, "acp/1.0");
  EXPECT_EQ(shell.schema_version, 1);
  EXPECT_TRUE(is_uuid_v7(shell.event_id)) << shell.event_id;
  EXPECT_NE(shell.event_id, req.event_id);
  EXPECT_TRUE(parse_timestamp(shell.occurred_at).has_value()) << shell.occurred_at;
  EXPECT_EQ(shell.event_type, "agent.response.delta");
  EXPECT_EQ(shell.frame_type, "response.delta");
  EXPECT_EQ(context_of(shell),
            "from=agent-x to=client-1 corr=" + req.event_id +
                " sess=sess-1 conv=conv-1 tenant=tenant_a user=user-1 chan=matrix trace=trace-1 span=span-1 tp=" +
                kTraceparent + " reply_to=");
  EXPECT_EQ(shell.metadata, (Metadata{{"biz.a", "\"1\""}, {"biz.b", "2"}}));
  EXPECT_EQ(shell.seq, 0u);
  EXPECT_FALSE(shell.is_final);
  EXPECT_FALSE(shell.has_payload());
}

TEST(ReplyShellTest, CanonicalFrameTypePerEventType) {
  const Envelope req = make_request();
  EXPECT_EQ(make_reply_shell(req, event_type::kResponseStarted, kAgent).frame_type, "response.started");
  EXPECT_EQ(make_reply_shell(req, event_type::kResponseFinal, kAgent).frame_type, "response.final");
  EXPECT_EQ(make_reply_shell(req, event_type::kResponseError, kAgent).frame_type, "response.error");
  EXPECT_EQ(make_reply_shell(req, event_type::kResponseHeartbeat, kAgent).frame_type, "");
  EXPECT_EQ(make_reply_shell(req, "custom.event", kAgent).frame_type, "");
}

TEST(ReplyShellTest, EveryShellGetsAFreshEventId) {
  const Envelope req = make_request();
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(make_reply_shell(req, event_type::kResponseDelta, kAgent).event_id);
  EXPECT_EQ(ids.size(), 100u);
}

TEST(ReplyShellTest, MetadataKeyOmittedWhenOnlyReservedKeys) {
  Envelope req = make_request();
  req.metadata = {{"acp.cancel", "true"}, {"acp.heartbeat_ms", "1000"}};
  Envelope shell = make_reply_shell(req, event_type::kResponseFinal, kAgent);
  EXPECT_TRUE(shell.metadata.empty());
  shell.is_final = true;
  auto bytes = encode_envelope(shell);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(bytes->find("\"metadata\""), std::string::npos) << *bytes;
  EXPECT_EQ(bytes->find("\"reply_to\""), std::string::npos) << *bytes;
  EXPECT_EQ(bytes->find("\"seq\""), std::string::npos) << *bytes;
  EXPECT_EQ(bytes->find("\"payload\""), std::string::npos) << *bytes;
}

TEST(ReplyShellTest, OpaqueCorrelationIsCopiedVerbatim) {
  Envelope req = make_request();
  req.event_id = "$ev:example.org";
  EXPECT_EQ(make_reply_shell(req, event_type::kResponseFinal, kAgent).correlation_id, "$ev:example.org");
}

// ---- handler-returned envelopes ----

TEST(CompleteReplyTest, KeepsTheHandlersOwnValues) {
  const Envelope req = make_request();
  Envelope own = make_envelope(event_type::kResponseFinal, R"({"result":1})");
  own.event_id = "own-event-id";
  own.occurred_at = "2026-05-02T10:00:00Z";
  own.from = "other-agent";
  own.to = "someone";
  own.correlation_id = "corr-own";
  own.session_id = "s2";
  own.conversation_id = "c2";
  own.tenant_id = "t2";
  own.user_id = "u2";
  own.channel = "ch2";
  own.trace_id = "tr2";
  own.span_id = "sp2";
  own.traceparent = "00-11111111111111111111111111111111-2222222222222222-00";
  complete_reply(own, req, kAgent);
  EXPECT_EQ(own.event_id, "own-event-id");
  EXPECT_EQ(own.occurred_at, "2026-05-02T10:00:00Z");
  EXPECT_EQ(context_of(own),
            "from=other-agent to=someone corr=corr-own sess=s2 conv=c2 tenant=t2 user=u2 chan=ch2 trace=tr2 span=sp2 "
            "tp=00-11111111111111111111111111111111-2222222222222222-00 reply_to=");
  EXPECT_EQ(own.payload, R"({"result":1})");
}

TEST(CompleteReplyTest, FillsEmptyFieldsByTheShellRules) {
  const Envelope req = make_request();
  Envelope own;  // a bare handler envelope
  own.spec_version.clear();
  own.schema_version = 0;
  own.event_type = std::string(event_type::kResponseFinal);
  own.payload = R"({"result":1})";
  complete_reply(own, req, kAgent);
  EXPECT_EQ(own.spec_version, "acp/1.0");
  EXPECT_EQ(own.schema_version, 1);
  EXPECT_TRUE(is_uuid_v7(own.event_id)) << own.event_id;
  EXPECT_NE(own.event_id, req.event_id);
  EXPECT_TRUE(parse_timestamp(own.occurred_at).has_value()) << own.occurred_at;
  EXPECT_EQ(context_of(own),
            "from=agent-x to=client-1 corr=" + req.event_id +
                " sess=sess-1 conv=conv-1 tenant=tenant_a user=user-1 chan=matrix trace=trace-1 span=span-1 tp=" +
                kTraceparent + " reply_to=");
  EXPECT_EQ(own.frame_type, "response.final");
  EXPECT_TRUE(own.is_final);
  EXPECT_EQ(own.payload, R"({"result":1})");
  EXPECT_EQ(own.seq, 0u) << "a reply does not inherit the request's seq";
}

TEST(CompleteReplyTest, MappedTypeGetsCanonicalFrameTypeEvenIfHandlerSetAnother) {
  const Envelope req = make_request();
  Envelope own;
  own.event_type = std::string(event_type::kResponseFinal);
  own.frame_type = "response.delta";
  complete_reply(own, req, kAgent);
  EXPECT_EQ(own.frame_type, "response.final");

  Envelope delta;
  delta.event_type = std::string(event_type::kResponseDelta);
  delta.frame_type = "bogus";
  complete_reply(delta, req, kAgent);
  EXPECT_EQ(delta.frame_type, "response.delta");
  EXPECT_FALSE(delta.is_final);
}

TEST(CompleteReplyTest, UnmappedTypeKeepsItsFrameType) {
  const Envelope req = make_request();
  Envelope own;
  own.event_type = "custom.reply";
  own.frame_type = "custom.frame";
  complete_reply(own, req, kAgent);
  EXPECT_EQ(own.frame_type, "custom.frame");
  EXPECT_FALSE(own.is_final);

  Envelope bare;
  bare.event_type = "custom.reply";
  complete_reply(bare, req, kAgent);
  EXPECT_EQ(bare.frame_type, "");
}

TEST(CompleteReplyTest, TerminalTypesGetIsFinal) {
  const Envelope req = make_request();
  for (auto type : {event_type::kResponseFinal, event_type::kResponseError, event_type::kToolResult,
                    event_type::kTaskCompleted}) {
    Envelope own;
    own.event_type = std::string(type);
    complete_reply(own, req, kAgent);
    EXPECT_TRUE(own.is_final) << type;
  }
  for (auto type : {event_type::kResponseStarted, event_type::kResponseDelta, event_type::kToolCall}) {
    Envelope own;
    own.event_type = std::string(type);
    complete_reply(own, req, kAgent);
    EXPECT_FALSE(own.is_final) << type;
  }
}

TEST(CompleteReplyTest, MetadataOverlayHandlerWinsAndReservedKeysRemoved) {
  const Envelope req = make_request();
  Envelope own;
  own.event_type = std::string(event_type::kResponseFinal);
  own.metadata = {{"biz.b", "20"}, {"own", "\"x\""}, {"acp.retry.attempt", "5"}};
  complete_reply(own, req, kAgent);
  EXPECT_EQ(own.metadata, (Metadata{{"biz.a", "\"1\""}, {"biz.b", "20"}, {"own", "\"x\""}}));
}

TEST(CompleteReplyTest, EmptyMergedMetadataIsOmitted) {
  Envelope req = make_request();
  req.metadata = {{"acp.cancel", "true"}};
  Envelope own;
  own.event_type = std::string(event_type::kResponseFinal);
  own.metadata = {{"acp.dlq.last_error", "\"x\""}};
  complete_reply(own, req, kAgent);
  EXPECT_TRUE(own.metadata.empty());
  auto bytes = encode_envelope(own);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(bytes->find("\"metadata\""), std::string::npos) << *bytes;
}

TEST(CompleteReplyTest, ReplyToIsCleared) {
  const Envelope req = make_request();
  Envelope own;
  own.event_type = std::string(event_type::kResponseFinal);
  own.reply_to = "_INBOX.someone-else";
  complete_reply(own, req, kAgent);
  EXPECT_EQ(own.reply_to, "");
}

// ---- request preparation ----

TEST(PrepareRequestTest, BarePayloadBecomesAMessageReceivedRequest) {
  Envelope e = result_payload(R"({"text":"hi"})");
  prepare_request(e, "mcp-fs.read_file", "me", "tenant_a");
  EXPECT_EQ(e.spec_version, "acp/1.0");
  EXPECT_EQ(e.schema_version, 1);
  EXPECT_EQ(e.event_type, "agent.message.received");
  EXPECT_EQ(e.frame_type, "request");
  EXPECT_TRUE(is_uuid_v7(e.event_id)) << e.event_id;
  EXPECT_TRUE(parse_timestamp(e.occurred_at).has_value()) << e.occurred_at;
  EXPECT_EQ(e.from, "me");
  EXPECT_EQ(e.to, "mcp-fs.read_file");
  EXPECT_EQ(e.tenant_id, "tenant_a");
  EXPECT_EQ(e.payload, R"({"text":"hi"})");
}

TEST(PrepareRequestTest, NoConfiguredTenantLeavesTenantEmpty) {
  Envelope e = result_payload("1");
  prepare_request(e, "echo", "me", "");
  EXPECT_EQ(e.tenant_id, "");
}

TEST(PrepareRequestTest, CallerMessageReceivedGetsRequestFrameTypeWhenEmpty) {
  Envelope e = make_envelope(event_type::kMessageReceived, "{}");
  ASSERT_TRUE(e.frame_type.empty());
  prepare_request(e, "echo", "me", "");
  EXPECT_EQ(e.frame_type, "request");
}

TEST(PrepareRequestTest, OtherEventTypesAreSentAsTheyAre) {
  Envelope e = make_envelope("goc.incident.created", R"({"id":1})");
  prepare_request(e, "echo", "me", "");
  EXPECT_EQ(e.event_type, "goc.incident.created");
  EXPECT_EQ(e.frame_type, "");

  Envelope custom = make_envelope("custom.request", "{}");
  custom.frame_type = "custom.frame";
  prepare_request(custom, "echo", "me", "");
  EXPECT_EQ(custom.frame_type, "custom.frame");

  Envelope delta = make_envelope(event_type::kResponseDelta, "{}");
  prepare_request(delta, "echo", "me", "");
  EXPECT_EQ(delta.frame_type, "") << "frame_type is set only for agent.message.received";
}

TEST(PrepareRequestTest, OnlyEmptyFromToTenantAreFilled) {
  Envelope e = make_envelope(event_type::kMessageReceived, R"({"x":1})");
  e.from = "caller-x";
  e.to = "someone-else";
  e.tenant_id = "t2";
  e.session_id = "sess";
  e.correlation_id = "corr";
  e.metadata = {{"biz", "1"}, {"acp.cancel", "true"}};
  const std::string id = e.event_id, at = e.occurred_at;
  prepare_request(e, "echo", "me", "tenant_a");
  EXPECT_EQ(e.from, "caller-x");
  EXPECT_EQ(e.to, "someone-else");
  EXPECT_EQ(e.tenant_id, "t2");
  EXPECT_EQ(e.event_id, id);
  EXPECT_EQ(e.occurred_at, at);
  EXPECT_EQ(e.session_id, "sess");
  EXPECT_EQ(e.correlation_id, "corr");
  EXPECT_EQ(e.metadata, (Metadata{{"acp.cancel", "true"}, {"biz", "1"}}));
  EXPECT_EQ(e.payload, R"({"x":1})");
}

// ---- nested-call propagation ----

Envelope make_parent() {
  Envelope p = make_request();
  p.correlation_id = "parent-corr";
  return p;
}

TEST(InheritContextTest, FillsEmptyContextAndMakesAChildTraceparent) {
  const Envelope parent = make_parent();
  Envelope out = result_payload("{}");
  inherit_context(out, parent);
  EXPECT_EQ(out.session_id, "sess-1");
  EXPECT_EQ(out.conversation_id, "conv-1");
  EXPECT_EQ(out.trace_id, "trace-1");
  EXPECT_EQ(out.tenant_id, "tenant_a");
  ASSERT_TRUE(is_valid_traceparent(out.traceparent)) << out.traceparent;
  const std::string ptp = kTraceparent;
  EXPECT_EQ(out.traceparent.substr(0, 36), ptp.substr(0, 36)) << "same version and trace id";
  EXPECT_EQ(out.traceparent.substr(52), ptp.substr(52)) << "same flags";
  EXPECT_NE(out.traceparent.substr(36, 16), ptp.substr(36, 16)) << "a new parent id";
  EXPECT_NE(out.traceparent.substr(36, 16), "0000000000000000");
  EXPECT_EQ(out.span_id, out.traceparent.substr(36, 16));
}

TEST(InheritContextTest, NeverCopiesIdsReplyToUserChannelOrMetadata) {
  const Envelope parent = make_parent();
  Envelope out = result_payload("{}");
  inherit_context(out, parent);
  EXPECT_EQ(out.event_id, "");
  EXPECT_EQ(out.correlation_id, "");
  EXPECT_EQ(out.reply_to, "");
  EXPECT_EQ(out.user_id, "");
  EXPECT_EQ(out.channel, "");
  EXPECT_TRUE(out.metadata.empty());
  EXPECT_EQ(out.from, "");
  EXPECT_EQ(out.to, "");
  EXPECT_EQ(out.payload, "{}");
}

TEST(InheritContextTest, CallerSetValuesWin) {
  const Envelope parent = make_parent();
  Envelope out;
  out.session_id = "my-sess";
  out.conversation_id = "my-conv";
  out.trace_id = "my-trace";
  out.tenant_id = "my-tenant";
  out.traceparent = "00-11111111111111111111111111111111-2222222222222222-00";
  out.span_id = "my-span";
  out.user_id = "my-user";
  inherit_context(out, parent);
  EXPECT_EQ(out.session_id, "my-sess");
  EXPECT_EQ(out.conversation_id, "my-conv");
  EXPECT_EQ(out.trace_id, "my-trace");
  EXPECT_EQ(out.tenant_id, "my-tenant");
  EXPECT_EQ(out.traceparent, "00-11111111111111111111111111111111-2222222222222222-00");
  EXPECT_EQ(out.span_id, "my-span");
  EXPECT_EQ(out.user_id, "my-user");
}

TEST(InheritContextTest, CallerSpanIdWinsOverTheChildsId) {
  const Envelope parent = make_parent();
  Envelope out;
  out.span_id = "my-span";
  inherit_context(out, parent);
  EXPECT_TRUE(is_valid_traceparent(out.traceparent));
  EXPECT_EQ(out.span_id, "my-span");
}

TEST(InheritContextTest, InvalidParentTraceparentIsNotPropagated) {
  Envelope parent = make_parent();
  parent.traceparent = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
  Envelope out;
  inherit_context(out, parent);
  EXPECT_EQ(out.traceparent, "");
  EXPECT_EQ(out.span_id, "span-1") << "falls back to the parent's span_id";

  parent.traceparent = "garbage";
  parent.span_id = "";
  Envelope out2;
  inherit_context(out2, parent);
  EXPECT_EQ(out2.traceparent, "");
  EXPECT_EQ(out2.span_id, "");
}

TEST(InheritContextTest, EmptyParentChangesNothing) {
  Envelope out = result_payload("{}");
  out.session_id = "keep";
  Envelope before = out;
  inherit_context(out, Envelope{});
  EXPECT_EQ(context_of(out), context_of(before));
}

TEST(InheritContextTest, ChildrenGetDistinctParentIds) {
  const Envelope parent = make_parent();
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    Envelope out;
    inherit_context(out, parent);
    ids.insert(out.traceparent.substr(36, 16));
  }
  EXPECT_EQ(ids.size(), 50u);
}

// ---- traceparent ----

TEST(TraceparentTest, Validity) {
  EXPECT_TRUE(is_valid_traceparent(kTraceparent));
  EXPECT_TRUE(is_valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  EXPECT_TRUE(is_valid_traceparent("00-00000000000000000000000000000001-0000000000000001-ff"));
  const char* invalid[] = {
      "",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // uppercase parent id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",   // uppercase flags
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // all-zero parent id
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // trace id too short
      "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",  // trace id too long
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",    // parent id too short
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01",  // parent id too long
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",    // flags too short
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",  // flags too long
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",      // no flags
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",   // wrong separators
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902g7-01",   // non-hex
      "0-04bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // shifted separator
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // leading space
  };
  for (const char* tp : invalid) EXPECT_FALSE(is_valid_traceparent(tp)) << tp;
}

TEST(TraceparentTest, ChildOfInvalidIsEmpty) {
  EXPECT_EQ(child_traceparent(""), "");
  EXPECT_EQ(child_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), "");
  std::string child = child_traceparent(kTraceparent);
  EXPECT_TRUE(is_valid_traceparent(child)) << child;
}

}  // namespace
}  // namespace oaio::detail
