// The MCP client core (oaio_mcp_core) against real servers, without a host:
// server-everything over stdio and Streamable HTTP, and the Python SDK test server for
// what server-everything cannot show (malformed frames, oversized results, pagination,
// session expiry, a server that dies mid-call, observable cancellation).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "http_transport.h"
#include "mcp_servers.h"
#include "stdio_transport.h"

namespace oaio::mcp {
namespace {

using namespace std::chrono_literals;
using test::eventually;

// A connected client plus what its handlers saw.
struct Session {
  std::unique_ptr<Client> client;
  Transport* transport = nullptr;
  std::atomic<int> tools_changed{0};
  std::atomic<int> closed{0};
  std::mutex mu;
  std::vector<std::string> logs;
  std::string closed_reason;

  // The client first: its threads call the handlers, which use the members above.
  ~Session() { client.reset(); }

  ::testing::AssertionResult open(std::unique_ptr<Transport> t) {
    transport = t.get();
    Client::Handlers h;
    h.on_tools_changed = [this] { ++tools_changed; };
    h.on_closed = [this](const CallError& why) {
      std::lock_guard<std::mutex> lock(mu);
      closed_reason = why.message;
      ++closed;
    };
    h.log = [this](int32_t, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu);
      logs.emplace_back(line);
    };
    client = std::make_unique<Client>(std::move(t), std::move(h));
    if (auto e = client->connect(20s)) return ::testing::AssertionFailure() << "connect: " << e->message;
    return ::testing::AssertionSuccess();
  }
  bool logged(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& l : logs)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

// Calls a tool and waits for its outcome.
Client::Outcome call(Client& c, const std::string& tool, Json args, std::chrono::milliseconds timeout = 20s,
                     Client::ProgressFn progress = nullptr) {
  auto p = std::make_shared<std::promise<Client::Outcome>>();
  Client::CallRequest r;
  r.tool = tool;
  r.arguments = std::move(args);
  r.timeout = timeout;
  r.on_progress = std::move(progress);
  r.on_done = [p](Client::Outcome o) { p->set_value(std::move(o)); };
  auto sent = c.call_tool(std::move(r));
  if (auto* e = std::get_if<CallError>(&sent)) return Client::Outcome{std::nullopt, *e};
  auto f = p->get_future();
  if (f.wait_for(timeout + 5s) != std::future_status::ready)
    return Client::Outcome{std::nullopt, CallError{OAIO_ERR_INTERNAL, "test: no outcome"}};
  return f.get();
}

std::string text_of(const Client::Outcome& o) {
  if (!o.result) return "(error: " + o.error.message + ")";
  return final_payload(*o.result).value("text", std::string("(no text)"));
}

std::unique_ptr<Transport> everything_stdio() {
  StdioOptions o;
  o.command = test::everything_bin();
  o.args = {"stdio"};
  return std::make_unique<StdioTransport>(o);
}

std::unique_ptr<Transport> python_stdio(const std::string& state_dir,
                                        std::vector<std::pair<std::string, std::string>> env = {},
                                        std::size_t max_message = kDefaultMaxMessageBytes) {
  StdioOptions o;
  o.command = test::python_bin();
  o.args = {test::test_server_py(), "stdio"};
  o.env = std::move(env);
  o.env.emplace_back("MCP_TEST_STATE_DIR", state_dir);
  o.max_message_bytes = max_message;
  return std::make_unique<StdioTransport>(o);
}

std::unique_ptr<Transport> http(const std::string& url, const std::string& token = "") {
  HttpOptions o;
  o.url = url;
  o.token = token;
  return std::make_unique<HttpTransport>(o);
}

bool has_tool(const std::vector<ToolInfo>& tools, const std::string& name) {
  for (const auto& t : tools)
    if (t.name == name) return true;
  return false;
}

// The checks shared by both transports of server-everything.
void exercise_everything(Session& s) {
  EXPECT_EQ(s.client->protocol_version(), "2025-11-25");
  std::vector<ToolInfo> tools;
  ASSERT_FALSE(s.client->list_tools(10s, &tools).has_value());
  EXPECT_TRUE(has_tool(tools, "echo"));
  EXPECT_TRUE(has_tool(tools, "get-sum"));
  EXPECT_TRUE(has_tool(tools, "trigger-long-running-operation"));
  EXPECT_EQ(text_of(call(*s.client, "echo", {{"message", "hi"}})), "Echo: hi");

  // Concurrent calls share the session, multiplexed by id.
  std::vector<std::future<Client::Outcome>> futures;
  for (int i = 0; i < 16; ++i)
    futures.push_back(std::async(std::launch::async, [&s, i] { return call(*s.client, "get-sum", {{"a", i}, {"b", 1000}}); }));
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(text_of(futures[i].get()), "The sum of " + std::to_string(i) + " and 1000 is " + std::to_string(i + 1000) + ".");

  // Progress notifications arrive before the result.
  std::mutex mu;
  std::vector<double> progress;
  auto out = call(*s.client, "trigger-long-running-operation", {{"duration", 0.8}, {"steps", 4}}, 20s,
                  [&](double p, double total, const std::string&) {
                    std::lock_guard<std::mutex> lock(mu);
                    progress.push_back(p);
                    EXPECT_EQ(total, 4);
                  });
  ASSERT_TRUE(out.result) << out.error.message;
  EXPECT_EQ(progress, (std::vector<double>{1, 2, 3, 4}));

  // A deadline: AGENT_TIMEOUT, and the session keeps working.
  auto slow = call(*s.client, "trigger-long-running-operation", {{"duration", 5}, {"steps", 5}}, 300ms);
  EXPECT_FALSE(slow.result);
  EXPECT_EQ(slow.error.code, OAIO_ERR_AGENT_TIMEOUT);

  // Cancel: no outcome for it, the session keeps working.
  std::atomic<bool> done{false};
  Client::CallRequest r;
  r.tool = "trigger-long-running-operation";
  r.arguments = {{"duration", 5}, {"steps", 5}};
  r.on_done = [&](Client::Outcome) { done = true; };
  auto sent = s.client->call_tool(std::move(r));
  ASSERT_TRUE(std::holds_alternative<int64_t>(sent));
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(s.client->cancel(std::get<int64_t>(sent), "test"));
  EXPECT_FALSE(s.client->cancel(std::get<int64_t>(sent), "test")) << "a second cancel finds nothing";
  EXPECT_EQ(text_of(call(*s.client, "echo", {{"message", "after cancel"}})), "Echo: after cancel");
  EXPECT_FALSE(done.load());

  // Structured content and unicode.
  auto sc = call(*s.client, "get-structured-content", {{"location", "Chicago"}});
  ASSERT_TRUE(sc.result) << sc.error.message;
  EXPECT_EQ(final_payload(*sc.result)["structuredContent"]["temperature"], 36);
  EXPECT_EQ(text_of(call(*s.client, "echo", {{"message", "héllo 🌍 ✓"}})), "Echo: héllo 🌍 ✓");
  // The server's own validation: -32602 or an isError result (SDK versions differ).
  auto bad = call(*s.client, "get-sum", {{"a", "x"}});
  EXPECT_TRUE(!bad.result ? bad.error.code == OAIO_ERR_INVALID_REQUEST : is_tool_error(*bad.result));
}

TEST(McpClient, EverythingOverStdio) {
  ASSERT_TRUE(test::have_everything());
  Session s;
  ASSERT_TRUE(s.open(everything_stdio()));
  exercise_everything(s);
  s.client->close();
  EXPECT_EQ(s.closed.load(), 0) << "close() is not a connection loss";
}

TEST(McpClient, EverythingOverStreamableHttp) {
  ASSERT_TRUE(test::have_everything());
  auto server = test::everything_http();
  ASSERT_TRUE(server.start());
  Session s;
  ASSERT_TRUE(s.open(http(server.url)));
  EXPECT_FALSE(static_cast<HttpTransport*>(s.transport)->session_id().empty());
  exercise_everything(s);
}

TEST(McpClient, MalformedFramesAreLoggedAndDropped) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  Session s;
  ASSERT_TRUE(s.open(python_stdio(dir.path(), {{"MCP_TEST_GARBAGE", "1"}})));
  EXPECT_EQ(text_of(call(*s.client, "echo", {{"text", "still fine"}})), "still fine");
  EXPECT_TRUE(s.logged("dropped a malformed frame from the MCP server: not valid JSON"));
  EXPECT_TRUE(s.logged("server stderr: ")) << "the server's stderr goes to the log";
  EXPECT_EQ(s.closed.load(), 0);
}

TEST(McpClient, ServerRequestsAreAnswered) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  Session s;
  ASSERT_TRUE(s.open(python_stdio(dir.path())));
  EXPECT_EQ(text_of(call(*s.client, "ping_client", Json::object())), "client answered ping");
  std::string refused = text_of(call(*s.client, "ask_roots", Json::object()));
  EXPECT_NE(refused.find("refused: Method not found: roots/list"), std::string::npos) << refused;
}

TEST(McpClient, HttpBearerTokenIsSentAndAuthFailuresMapToAuthFailure) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  auto server = test::python_http(dir.path(), false, "right-t0ken-123");
  ASSERT_TRUE(server.start());
  Session good;
  ASSERT_TRUE(good.open(http(server.url, "right-t0ken-123")));
  EXPECT_EQ(text_of(call(*good.client, "echo", {{"text", "authorized"}})), "authorized");

  Client::Handlers h;
  Client bad(http(server.url, "wrong-t0ken-456"), h, {"wrong-t0ken-456"});
  auto e = bad.connect(10s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, OAIO_ERR_AUTH);
  EXPECT_NE(e->message.find("HTTP 401"), std::string::npos) << e->message;
  EXPECT_EQ(e->message.find("wrong-t0ken-456"), std::string::npos) << "the token leaked: " << e->message;
}

TEST(McpClient, OversizedResultsFailTheirCallClearly) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  Session s;
  ASSERT_TRUE(s.open(python_stdio(dir.path(), {}, 64 * 1024)));
  auto out = call(*s.client, "big", {{"size", 200000}}, 10s);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.error.code, OAIO_ERR_CODEC);
  EXPECT_NE(out.error.message.find("exceeds the limit"), std::string::npos) << out.error.message;
  EXPECT_EQ(text_of(call(*s.client, "big", {{"size", 1000}})).size(), 1000u);
}

TEST(McpClient, ToolsListFollowsPaginationCursors) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  Session s;
  ASSERT_TRUE(s.open(python_stdio(dir.path(), {{"MCP_TEST_PAGE_SIZE", "2"}})));
  std::vector<ToolInfo> tools;
  ASSERT_FALSE(s.client->list_tools(10s, &tools).has_value());
  EXPECT_EQ(tools.size(), 12u);
  EXPECT_TRUE(has_tool(tools, "weird.name v2"));
}

TEST(McpClient, ListChangedIsReported) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  Session s;
  ASSERT_TRUE(s.open(python_stdio(dir.path())));
  EXPECT_EQ(text_of(call(*s.client, "add_tool", {{"name", "fresh"}})), "added fresh");
  EXPECT_TRUE(eventually([&] { return s.tools_changed.load() >= 1; }));
}

TEST(McpClient, CancellationReachesTheServer) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  Session s;
  ASSERT_TRUE(s.open(python_stdio(dir.path())));
  Client::CallRequest r;
  r.tool = "slow";
  r.arguments = {{"seconds", 30}};
  r.on_done = [](Client::Outcome) {};
  auto sent = s.client->call_tool(std::move(r));
  ASSERT_TRUE(std::holds_alternative<int64_t>(sent));
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(s.client->cancel(std::get<int64_t>(sent), "test"));
  EXPECT_TRUE(eventually([&] { return dir.has("cancelled"); }, 5s)) << "server never saw notifications/cancelled";
}

// The timer thread is woken only for a deadline earlier than its next wake-up: a short
// call after a long one must still time out on time, and the long one must not.
TEST(McpClient, AShortDeadlineAfterALongOneStillTimesOutOnTime) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  Session s;
  ASSERT_TRUE(s.open(python_stdio(dir.path())));
  auto long_done = std::make_shared<std::promise<Client::Outcome>>();
  Client::CallRequest r;
  r.tool = "slow";
  r.arguments = {{"seconds", 30}};
  r.timeout = 60s;
  r.on_done = [long_done](Client::Outcome o) { long_done->set_value(std::move(o)); };
  auto sent = s.client->call_tool(std::move(r));
  ASSERT_TRUE(std::holds_alternative<int64_t>(sent));
  auto t0 = std::chrono::steady_clock::now();
  Client::Outcome quick = call(*s.client, "slow", {{"seconds", 30}}, 300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(quick.result.has_value());
  EXPECT_EQ(quick.error.code, OAIO_ERR_AGENT_TIMEOUT) << quick.error.message;
  EXPECT_LT(took, 3s);
  EXPECT_EQ(long_done->get_future().wait_for(0s), std::future_status::timeout) << "the long call ended early";
  s.client->cancel(std::get<int64_t>(sent), "test over");
}

TEST(McpClient, StdioServerExitFailsInFlightCallsAtOnce) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  Session s;
  ASSERT_TRUE(s.open(python_stdio(dir.path())));
  auto slow = std::async(std::launch::async, [&] { return call(*s.client, "slow", {{"seconds", 30}}, 30s); });
  std::this_thread::sleep_for(200ms);
  auto start = std::chrono::steady_clock::now();
  auto crash = call(*s.client, "crash", Json::object());
  auto slow_out = slow.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(slow_out.result);
  EXPECT_EQ(slow_out.error.code, OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_NE(slow_out.error.message.find("exited with code 3"), std::string::npos) << slow_out.error.message;
  EXPECT_EQ(crash.error.code, OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_TRUE(eventually([&] { return s.closed.load() == 1; }));
  EXPECT_FALSE(s.client->connected());
  auto after = call(*s.client, "echo", {{"text", "x"}});
  EXPECT_EQ(after.error.code, OAIO_ERR_AGENT_UNAVAILABLE);
}

TEST(McpClient, HttpSessionExpiryReinitializesTransparently) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  auto server = test::python_http(dir.path());
  ASSERT_TRUE(server.start());
  Session s;
  ASSERT_TRUE(s.open(http(server.url)));
  std::string first = static_cast<HttpTransport*>(s.transport)->session_id();
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(text_of(call(*s.client, "expire_session", Json::object())), "sessions will expire");
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(text_of(call(*s.client, "echo", {{"text", "again"}})), "again");
  std::string second = static_cast<HttpTransport*>(s.transport)->session_id();
  EXPECT_FALSE(second.empty());
  EXPECT_NE(first, second);
  EXPECT_TRUE(s.logged("MCP session expired (HTTP 404)"));
}

TEST(McpClient, HttpJsonResponsesAndServerLoss) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  auto server = test::python_http(dir.path(), /*json_response=*/true);
  ASSERT_TRUE(server.start());
  Session s;
  ASSERT_TRUE(s.open(http(server.url)));
  EXPECT_EQ(text_of(call(*s.client, "echo", {{"text", "json body"}})), "json body");
  auto tool_err = call(*s.client, "fail", {{"message", "nope"}});
  ASSERT_TRUE(tool_err.result);
  EXPECT_TRUE(is_tool_error(*tool_err.result));
  server.kill();
  auto out = call(*s.client, "echo", {{"text", "gone"}}, 10s);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.error.code, OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_NE(out.error.message.find("unreachable"), std::string::npos) << out.error.message;
  EXPECT_TRUE(eventually([&] { return s.closed.load() == 1; }));
}

TEST(McpClient, StdioChildGetsItsEnvAndWorkingDirectory) {
  ASSERT_TRUE(test::have_python_mcp());
  test::TempDir dir;
  StdioOptions o;
  o.command = test::python_bin();
  o.args = {test::test_server_py(), "stdio"};
  o.env = {{"MCP_TEST_VAR", "from-config"}};
  o.cwd = dir.path();
  Session s;
  ASSERT_TRUE(s.open(std::make_unique<StdioTransport>(o)));
  EXPECT_EQ(text_of(call(*s.client, "whereami", Json::object())),
            std::filesystem::canonical(dir.path()).string() + "|from-config");
  auto* stdio = static_cast<StdioTransport*>(s.transport);
  pid_t pid = stdio->pid();
  s.client->close();
  EXPECT_EQ(::kill(pid, 0), -1) << "the child was reaped";
}

TEST(McpClient, StdioCommandThatCannotStart) {
  StdioOptions o;
  o.command = "/nonexistent/mcp-server";
  Session s;
  auto r = s.open(std::make_unique<StdioTransport>(o));
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("/nonexistent/mcp-server"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace oaio::mcp
