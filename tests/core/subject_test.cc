// Subjects (WIRE.md §3): the [IMP] subject-token safety check, subject building by plain
// concatenation, and the wildcard matcher of the in-process transport.
#include "oaio/subject.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "subject_match.h"

namespace oaio {
namespace {

struct BadName {
  std::string name;
  std::string shown;  // how the message shows the value (control characters escaped)
  std::string why;    // part of the reason
};

TEST(SubjectNameTest, RejectsBadNamesWithInvalidRequestNamingThePart) {
  const std::vector<BadName> bad = {
      {"", "", "empty"},
      {"has space", "has space", "whitespace"},
      {" lead", " lead", "whitespace"},
      {"trail ", "trail ", "whitespace"},
      {"tab\there", "tab\\x09here", "whitespace"},
      {"new\nline", "new\\x0aline", "whitespace"},
      {"cr\rhere", "cr\\x0dhere", "whitespace"},
      {std::string("nul\0x", 5), "nul\\x00x", "control"},
      {"bell\x07", "bell\\x07", "control"},
      {"esc\x1b[0m", "esc\\x1b[0m", "control"},
      {"del\x7f", "del\\x7f", "control"},
      {"*", "*", "wildcard"},
      {">", ">", "wildcard"},
      {"a.*", "a.*", "wildcard"},
      {"a.>", "a.>", "wildcard"},
      {"a*b", "a*b", "wildcard"},
      {"a>b.c", "a>b.c", "wildcard"},
      {"echo*", "echo*", "wildcard"},
      {".lead", ".lead", "empty token"},
      {"trail.", "trail.", "empty token"},
      {"a..b", "a..b", "empty token"},
      {".", ".", "empty token"},
      {"..", "..", "empty token"},
  };
  for (const auto& b : bad) {
    SCOPED_TRACE("name: " + b.shown);
    Status st = check_subject_name("target", b.name);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidRequest);
    EXPECT_FALSE(st.retryable());
    EXPECT_NE(st.message().find("target"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("\"" + b.shown + "\""), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(b.why), std::string::npos) << st.message();
  }
}

TEST(SubjectNameTest, MessageNamesEachKindOfPart) {
  for (const char* what : {"prefix", "tenant", "target", "event_type", "reply_to"}) {
    Status st = check_subject_name(what, "bad name");
    EXPECT_EQ(st.code(), ErrorCode::kInvalidRequest);
    EXPECT_EQ(st.message().rfind(what, 0), 0u) << st.message();
    EXPECT_NE(st.message().find("\"bad name\""), std::string::npos) << st.message();
  }
}

TEST(SubjectNameTest, ControlCharactersAreEscapedSoTheMessageIsOneLine) {
  Status st = check_subject_name("event_type", "a\nb\r\tc");
  EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\r'), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\t'), std::string::npos) << st.message();
}

TEST(SubjectNameTest, AcceptsOrdinaryAndDottedNames) {
  for (const char* name : {"echo", "mcp-fs.read_file", "agent.response.delta", "acp.v1", "agent.v1", "tenant_a",
                           "_INBOX.abc123", "_INBOX.abc.cancel", "a", "A-Z_0-9", "x.y.z.w", "goc.incident.created",
                           "$SYS", "a#b", "a+b", "a/b:c"}) {
    Status st = check_subject_name("target", name);
    EXPECT_TRUE(st.ok()) << name << ": " << st.to_string();
  }
}

TEST(SubjectNameTest, AcceptsUnicodeNames) {
  for (const char* name : {"agente-\xC3\xB1", "\xE5\xA4\x84\xE7\x90\x86.\xE5\x99\xA8", "emoji-\xF0\x9F\x98\x80.x"}) {
    Status st = check_subject_name("target", name);
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
}

TEST(SubjectBuildTest, InvokeSubjects) {
  EXPECT_EQ(invoke_subject("acp.v1", "", "mcp-fs.read_file"), "acp.v1.invoke.mcp-fs.read_file");
  EXPECT_EQ(invoke_subject("acp.v1", "", "echo"), "acp.v1.invoke.echo");
  EXPECT_EQ(invoke_subject("acp.v1", "tenant_a", "echo"), "acp.v1.tenant_a.invoke.echo");
  EXPECT_EQ(invoke_subject("agent.v1", "t", "a.b"), "agent.v1.t.invoke.a.b");
}

TEST(SubjectBuildTest, EventSubjects) {
  EXPECT_EQ(event_subject("acp.v1", "", "agent.response.delta"), "acp.v1.events.agent.response.delta");
  EXPECT_EQ(event_subject("acp.v1", "tenant_a", "goc.incident.created"), "acp.v1.tenant_a.events.goc.incident.created");
  EXPECT_EQ(event_subject("agent.v1", "", "x"), "agent.v1.events.x");
}

TEST(SubjectBuildTest, DlqSubjectsAreNeverTenantScoped) {
  EXPECT_EQ(dlq_subject("acp.v1", "agent.message.received"), "acp.v1.dlq.agent.message.received");
  EXPECT_EQ(dlq_subject("agent.v1", "goc.incident.created"), "agent.v1.dlq.goc.incident.created");
}

TEST(SubjectBuildTest, CancelSubject) {
  EXPECT_EQ(cancel_subject("_INBOX.abc123"), "_INBOX.abc123.cancel");
  // The cancel subject of a valid inbox is itself a valid subject name.
  EXPECT_TRUE(check_subject_name("cancel", cancel_subject("_INBOX.abc123")).ok());
}

using detail::subject_has_wildcard;
using detail::subject_matches;

TEST(SubjectMatchTest, LiteralSubjectsMatchExactly) {
  EXPECT_TRUE(subject_matches("acp.v1.invoke.echo", "acp.v1.invoke.echo"));
  EXPECT_FALSE(subject_matches("acp.v1.invoke.echo", "acp.v1.invoke.echo2"));
  EXPECT_FALSE(subject_matches("acp.v1.invoke.echo", "acp.v1.invoke.ech"));
  EXPECT_FALSE(subject_matches("acp.v1.invoke.echo", "acp.v1.invoke.echo.x"));
  EXPECT_FALSE(subject_matches("acp.v1.invoke.echo.x", "acp.v1.invoke.echo"));
  EXPECT_FALSE(subject_matches("foo", "foobar"));
  EXPECT_FALSE(subject_matches("foobar", "foo"));
  EXPECT_TRUE(subject_matches("a", "a"));
}

TEST(SubjectMatchTest, StarMatchesExactlyOneToken) {
  EXPECT_TRUE(subject_matches("a.*.c", "a.b.c"));
  EXPECT_TRUE(subject_matches("a.*.c", "a.bbbb.c"));
  EXPECT_FALSE(subject_matches("a.*.c", "a.c"));
  EXPECT_FALSE(subject_matches("a.*.c", "a.b.x.c"));
  EXPECT_TRUE(subject_matches("a.*", "a.b"));
  EXPECT_FALSE(subject_matches("a.*", "a"));
  EXPECT_FALSE(subject_matches("a.*", "a.b.c"));
  EXPECT_TRUE(subject_matches("*", "a"));
  EXPECT_FALSE(subject_matches("*", "a.b"));
  EXPECT_TRUE(subject_matches("*.*", "a.b"));
  EXPECT_TRUE(subject_matches("acp.v1.*.invoke.echo", "acp.v1.tenant_a.invoke.echo"));
  EXPECT_FALSE(subject_matches("acp.v1.*.invoke.echo", "acp.v1.invoke.echo"));
}

TEST(SubjectMatchTest, GreaterThanMatchesOneOrMoreTailTokens) {
  EXPECT_TRUE(subject_matches("a.>", "a.b"));
  EXPECT_TRUE(subject_matches("a.>", "a.b.c.d"));
  EXPECT_FALSE(subject_matches("a.>", "a"));
  EXPECT_FALSE(subject_matches("a.>", "b.c"));
  EXPECT_TRUE(subject_matches(">", "a"));
  EXPECT_TRUE(subject_matches(">", "a.b.c"));
  EXPECT_TRUE(subject_matches("*.>", "a.b"));
  EXPECT_FALSE(subject_matches("*.>", "a"));
  EXPECT_TRUE(subject_matches("acp.v1.events.agent.response.>", "acp.v1.events.agent.response.delta"));
  EXPECT_TRUE(subject_matches("acp.v1.events.agent.response.>", "acp.v1.events.agent.response.final"));
  EXPECT_FALSE(subject_matches("acp.v1.events.agent.response.>", "acp.v1.events.agent.responses.delta"));
  EXPECT_FALSE(subject_matches("acp.v1.events.agent.response.>", "acp.v1.events.agent.response"));
  EXPECT_TRUE(subject_matches("_INBOX.abc.>", "_INBOX.abc.cancel"));
}

TEST(SubjectMatchTest, NoPartialTokenMatches) {
  EXPECT_FALSE(subject_matches("a.b*", "a.bc"));
  EXPECT_FALSE(subject_matches("a.b*", "a.b"));
  EXPECT_FALSE(subject_matches("a.*b", "a.xb"));
  EXPECT_FALSE(subject_matches("a.b>", "a.bc"));
  EXPECT_FALSE(subject_matches("a.b>", "a.b.c"));
  EXPECT_FALSE(subject_matches("acp.v1.invoke.ec", "acp.v1.invoke.echo"));
  EXPECT_FALSE(subject_matches("acp.v1.inv*.echo", "acp.v1.invoke.echo"));
  // A literal pattern that contains a wildcard character inside a token matches itself only.
  EXPECT_TRUE(subject_matches("a.b*", "a.b*"));
}

TEST(SubjectMatchTest, DetectsWildcardTokensOnly) {
  EXPECT_TRUE(subject_has_wildcard("a.*"));
  EXPECT_TRUE(subject_has_wildcard("*.b"));
  EXPECT_TRUE(subject_has_wildcard("a.>"));
  EXPECT_TRUE(subject_has_wildcard(">"));
  EXPECT_TRUE(subject_has_wildcard("acp.v1.events.agent.response.>"));
  EXPECT_FALSE(subject_has_wildcard("a.b"));
  EXPECT_FALSE(subject_has_wildcard("a*b"));
  EXPECT_FALSE(subject_has_wildcard("a.b>"));
  EXPECT_FALSE(subject_has_wildcard("_INBOX.abc123"));
  EXPECT_FALSE(subject_has_wildcard("acp.v1.invoke.mcp-fs.read_file"));
}

}  // namespace
}  // namespace oaio
