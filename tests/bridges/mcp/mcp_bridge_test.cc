// The mcp plugin end to end: a real host (HostApp) loads <build>/plugins/mcp.so from a
// manifest and serves every tool of a real MCP server as a bus target, on the
// in-process bus and over a real nats-server. What a bus caller sees: the catalog,
// replies, stream frames, error codes, and the bridge state while the server is down.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "host_app.h"
#include "mcp_servers.h"
#include "oaio/nats_transport.h"
#include "support/bus_fixture.h"
#include "support/host_fixture.h"
#include "support/nats_server.h"
#include "support/subprocess.h"

namespace oaio::host {
namespace {

using namespace std::chrono_literals;
using mcp::test::eventually;
using test::collect;
using test::HostDir;
using test::payload_json;
using test::start_host;

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

std::string everything_stdio_manifest(const std::string& name = "everything", const std::string& extra = "") {
  return "bridges:\n  - name: " + name + "\n    plugin: mcp\n    config:\n      transport: stdio\n      command: " +
         quoted(mcp::test::everything_bin()) + "\n      args: [stdio]\n      timeout: 20\n" + extra;
}

std::string python_stdio_bridge(const std::string& name, const std::string& state_dir, const std::string& extra_env,
                                const std::string& timeout) {
  return "  - name: " + name + "\n    plugin: mcp\n    config:\n      command: " + quoted(mcp::test::python_bin()) +
         "\n      args: [" + quoted(mcp::test::test_server_py()) + ", stdio]\n      env: {MCP_TEST_STATE_DIR: " +
         quoted(state_dir) + extra_env + "}\n      timeout: " + timeout + "\n";
}

std::string python_stdio_manifest(const std::string& state_dir, const std::string& extra_env = "") {
  return "bridges:\n" + python_stdio_bridge("py", state_dir, extra_env, "20");
}

std::string http_manifest(const std::string& name, const std::string& url, const std::string& extra = "") {
  return "bridges:\n  - name: " + name + "\n    plugin: mcp\n    config:\n      transport: streamable_http\n      http_url: " +
         quoted(url) + "\n      timeout: 20\n" + extra;
}

Envelope request(const std::string& payload) {
  Envelope e;
  e.payload = payload;
  return e;
}

BridgeState state_of(HostApp& app, const std::string& bridge) {
  for (const auto& s : app.supervisor().status())
    if (s.name == bridge) return s.state;
  return BridgeState::kStopped;
}

// After an outage: the bridge gets back to running by itself and `target` (a tool that
// echoes its "text") answers again.
void expect_serving_again(HostApp& app, Bus& bus, const std::string& bridge, const std::string& target) {
  ASSERT_TRUE(eventually([&] { return state_of(app, bridge) == BridgeState::kRunning; }, 20s));
  auto after = bus.invoke_payload(target, R"({"text":"back"})");
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(payload_json(after.value())["text"], "back");
}

// The server goes away while `slow_target` runs (`lose_server` makes it so): that call
// fails at once, not at its timeout; the bridge turns DEGRADED, and a call to
// `echo_target` fails fast. Returns that fast failure's status.
Status expect_loss_fails_fast(HostApp& app, Bus& bus, const std::string& bridge, const std::string& slow_target,
                              const std::string& echo_target, const std::function<void()>& lose_server) {
  auto slow = std::async(std::launch::async, [&] { return bus.invoke_payload(slow_target, R"({"seconds":30})"); });
  std::this_thread::sleep_for(300ms);
  auto t0 = std::chrono::steady_clock::now();
  lose_server();
  auto in_flight = slow.get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(in_flight.ok()) << in_flight.status().to_string();
  if (in_flight.ok()) {
    EXPECT_EQ(reply_status(in_flight.value()).code(), ErrorCode::kAgentUnavailable);
  }
  EXPECT_TRUE(eventually([&] { return state_of(app, bridge) == BridgeState::kDegraded; }));
  t0 = std::chrono::steady_clock::now();
  auto during = bus.invoke_payload(echo_target, R"({"text":"x"})");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  if (!during.ok()) {
    ADD_FAILURE() << during.status().to_string();
    return during.status();
  }
  Status refused = reply_status(during.value());
  EXPECT_EQ(refused.code(), ErrorCode::kAgentUnavailable);
  return refused;
}

bool in_catalog(HostApp& app, const std::string& target) {
  const nlohmann::json catalog = app.catalog().to_json();
  for (const auto& t : catalog["targets"])
    if (t["target"] == target) return true;
  return false;
}

// The user-visible checks shared by stdio and HTTP server-everything.
void expect_everything_served(HostApp& app, Bus& bus, const std::string& prefix) {
  // Catalog: every tool, with its description and input schema.
  nlohmann::json echo_entry;
  const nlohmann::json catalog = app.catalog().to_json();
  for (const auto& t : catalog["targets"])
    if (t["target"] == prefix + ".echo") echo_entry = t;
  ASSERT_FALSE(echo_entry.is_null()) << app.catalog().to_json().dump();
  EXPECT_EQ(echo_entry["description"], "Echoes back the input string");
  EXPECT_EQ(echo_entry["input_schema"]["properties"]["message"]["type"], "string");
  EXPECT_EQ(echo_entry["flows"], nlohmann::json::parse(R"(["invoke","stream"])"));
  EXPECT_TRUE(in_catalog(app, prefix + ".get-sum"));
  EXPECT_TRUE(in_catalog(app, prefix + ".trigger-long-running-operation"));

  auto r = bus.invoke_payload(prefix + ".echo", R"({"message":"hi"})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE(reply_status(r.value()).ok()) << reply_status(r.value()).to_string();
  EXPECT_EQ(payload_json(r.value())["text"], "Echo: hi");
  EXPECT_EQ(payload_json(r.value())["content"][0]["type"], "text");

  auto sum = bus.invoke_payload(prefix + ".get-sum", R"({"a":2,"b":40})");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(payload_json(sum.value())["text"], "The sum of 2 and 40 is 42.");

  auto sc = bus.invoke_payload(prefix + ".get-structured-content", R"({"location":"Los Angeles"})");
  ASSERT_TRUE(sc.ok());
  EXPECT_EQ(payload_json(sc.value())["structuredContent"]["conditions"], "Sunny / Clear");

  // Unicode and a large result (about 600 KB) come back intact.
  std::string big;
  for (int i = 0; i < 40000; ++i) big += "héllo🌍 ";
  auto large = bus.invoke_payload(prefix + ".echo", nlohmann::json{{"message", big}}.dump());
  ASSERT_TRUE(large.ok()) << large.status().to_string();
  ASSERT_TRUE(reply_status(large.value()).ok()) << reply_status(large.value()).to_string();
  EXPECT_EQ(payload_json(large.value())["text"], "Echo: " + big);

  // Bad arguments: INVALID_REQUEST from the bridge (its wording), naming the field.
  auto bad = bus.invoke_payload(prefix + ".get-sum", R"({"a":"two","b":1})");
  ASSERT_TRUE(bad.ok());
  Status bs = reply_status(bad.value());
  EXPECT_EQ(bs.code(), ErrorCode::kInvalidRequest);
  EXPECT_NE(bs.message().find("tool 'get-sum': argument 'a'"), std::string::npos) << bs.message();
  auto missing = bus.invoke_payload(prefix + ".echo", "");
  EXPECT_EQ(reply_status(missing.value()).code(), ErrorCode::kInvalidRequest);
  EXPECT_NE(reply_status(missing.value()).message().find("message"), std::string::npos);
  auto not_object = bus.invoke_payload(prefix + ".echo", "[1,2]");
  EXPECT_EQ(reply_status(not_object.value()).code(), ErrorCode::kInvalidRequest);

  // Stream: started, progress deltas, then the final.
  auto s = bus.stream_invoke(prefix + ".trigger-long-running-operation", request(R"({"duration":0.6,"steps":3})"));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto frames = collect(*s.value());
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(frames[0].event_type, "agent.response.started");
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(frames[i].event_type, "agent.response.delta");
    EXPECT_EQ(payload_json(frames[i])["progress"], i);
    EXPECT_EQ(payload_json(frames[i])["total"], 3);
  }
  EXPECT_EQ(frames[4].event_type, "agent.response.final");
  EXPECT_NE(payload_json(frames[4])["text"].get<std::string>().find("Long running operation completed"), std::string::npos);

  // Invoke of the same tool: one final, no progress frames.
  auto once = bus.invoke_payload(prefix + ".trigger-long-running-operation", R"({"duration":0.2,"steps":2})");
  ASSERT_TRUE(once.ok());
  EXPECT_EQ(once.value().event_type, "agent.response.final");

  // A caller timeout ends the call at the deadline (the bridge is told via cancel).
  CallOptions quick;
  quick.timeout = 300ms;
  auto t0 = std::chrono::steady_clock::now();
  auto timed = bus.invoke_payload(prefix + ".trigger-long-running-operation", R"({"duration":5,"steps":5})", quick);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(timed.ok() ? reply_status(timed.value()).code() : timed.status().code(), ErrorCode::kAgentTimeout);

  // Cancel mid-stream: the stream ends at once and the bridge keeps serving.
  auto c = bus.stream_invoke(prefix + ".trigger-long-running-operation", request(R"({"duration":10,"steps":10})"));
  ASSERT_TRUE(c.ok());
  auto first = c.value()->next();
  ASSERT_TRUE(first.ok());
  t0 = std::chrono::steady_clock::now();
  c.value()->cancel("test");
  EXPECT_FALSE(c.value()->next().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  auto again = bus.invoke_payload(prefix + ".echo", R"({"message":"after"})");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(payload_json(again.value())["text"], "Echo: after");
}

TEST(McpBridge, EverythingOverStdio) {
  ASSERT_TRUE(mcp::test::have_everything());
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", everything_stdio_manifest());
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  expect_everything_served(*app, app->connection().default_bus(), "everything");
}

TEST(McpBridge, EverythingOverStreamableHttp) {
  ASSERT_TRUE(mcp::test::have_everything());
  auto server = mcp::test::everything_http();
  ASSERT_TRUE(server.start());
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", http_manifest("web", server.url, "      prefix: ev-http\n"));
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  expect_everything_served(*app, app->connection().default_bus(), "ev-http");
}

TEST(McpBridge, EverythingOverNats) {
  ASSERT_TRUE(mcp::test::have_everything());
  test::NatsServer nats;
  ASSERT_TRUE(nats.start());
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", everything_stdio_manifest());
  auto app = start_host(dir.options(nats.url()), 30s);
  ASSERT_TRUE(app);
  NatsOptions o;
  o.servers = {nats.url()};
  auto client = test::open_bus(connect_nats(o).value(), test::bus_options("remote-client"));
  auto r = client->invoke_payload("everything.echo", R"({"message":"over nats"})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(payload_json(r.value())["text"], "Echo: over nats");
  auto s = client->stream_invoke("everything.trigger-long-running-operation", request(R"({"duration":0.4,"steps":2})"));
  ASSERT_TRUE(s.ok());
  auto frames = collect(*s.value());
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(payload_json(frames[1])["progress"], 1);
  EXPECT_EQ(frames[3].event_type, "agent.response.final");
}

TEST(McpBridge, SeedManifestFormatWorksUnchanged) {
  ASSERT_TRUE(mcp::test::have_everything());
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("seed.yaml", "version: \"openagentio.bridge/v1\"\nbridges:\n  - name: \"mcp-ev\"\n    type: \"mcp_tool\"\n"
                                "    config:\n      transport: stdio\n      command: " +
                                    quoted(mcp::test::everything_bin()) +
                                    "\n      args: [\"stdio\"]\n      timeout: 10\n    mappings:\n      target_prefix: \"tools.ev\"\n");
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  auto r = app->connection().default_bus().invoke_payload("tools.ev.echo", R"({"message":"seed"})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(payload_json(r.value())["text"], "Echo: seed");
}

TEST(McpBridge, AllowAndDenyListsLimitTheTargets) {
  ASSERT_TRUE(mcp::test::have_everything());
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", everything_stdio_manifest("ev", "      allow: [\"get-*\", echo]\n      deny: [get-env]\n"));
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  EXPECT_TRUE(in_catalog(*app, "ev.echo"));
  EXPECT_TRUE(in_catalog(*app, "ev.get-sum"));
  EXPECT_FALSE(in_catalog(*app, "ev.get-env"));
  EXPECT_FALSE(in_catalog(*app, "ev.trigger-long-running-operation"));
  EXPECT_EQ(app->connection().default_bus().invoke_payload("ev.get-env", "{}").status().code(), ErrorCode::kNoHandler);
}

TEST(McpBridge, ToolErrorsNamesAndCancellationWithThePythonServer) {
  ASSERT_TRUE(mcp::test::have_python_mcp());
  mcp::test::TempDir state;
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", python_stdio_manifest(state.path()));
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  Bus& bus = app->connection().default_bus();

  // isError -> AGENT_UNAVAILABLE with the tool's text, trimmed.
  auto err = bus.invoke_payload("py.fail", R"({"message":"  disk is full\n"})");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(reply_status(err.value()).code(), ErrorCode::kAgentUnavailable);
  EXPECT_EQ(reply_status(err.value()).message(), "disk is full");
  // A tool name that is not a subject token is served under its escaped name.
  EXPECT_TRUE(in_catalog(*app, "py.weird~2Ename~20v2"));
  auto weird = bus.invoke_payload("py.weird~2Ename~20v2", "{}");
  ASSERT_TRUE(weird.ok());
  EXPECT_EQ(payload_json(weird.value())["text"], "weird ok");

  // A stream caller that cancels: the server is told (notifications/cancelled).
  auto s = bus.stream_invoke("py.slow", request(R"({"seconds":30})"));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.value()->next().ok());  // started
  s.value()->cancel("test");
  EXPECT_TRUE(eventually([&] { return state.has("cancelled"); }, 5s)) << "the server was not told";
  std::filesystem::remove(state.file("cancelled"));

  // A stream caller's own timeout abandons the stream: the same.
  CallOptions quick;
  quick.timeout = 300ms;
  auto t = bus.stream_invoke("py.slow", request(R"({"seconds":30})"), quick);
  ASSERT_TRUE(t.ok());
  Status end;
  while (true) {
    auto n = t.value()->next();
    if (!n.ok()) {
      end = n.status();
      break;
    }
    if (!n.value()) break;
  }
  EXPECT_EQ(end.code(), ErrorCode::kAgentTimeout) << end.to_string();
  EXPECT_TRUE(eventually([&] { return state.has("cancelled"); }, 5s)) << "the server was not told";
}

TEST(McpBridge, TheBridgeTimeoutEndsTheCallAndTellsTheServer) {
  ASSERT_TRUE(mcp::test::have_python_mcp());
  mcp::test::TempDir state;
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", "bridges:\n" + python_stdio_bridge("pyq", state.path(), "", "0.5"));
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  auto t0 = std::chrono::steady_clock::now();
  auto r = app->connection().default_bus().invoke_payload("pyq.slow", R"({"seconds":30})");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(reply_status(r.value()).code(), ErrorCode::kAgentTimeout);
  EXPECT_TRUE(eventually([&] { return state.has("cancelled"); }, 5s)) << "the server was not told";
}

TEST(McpBridge, ListChangedAddsAndRemovesTargets) {
  ASSERT_TRUE(mcp::test::have_python_mcp());
  mcp::test::TempDir state;
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", python_stdio_manifest(state.path(), ", MCP_TEST_PAGE_SIZE: \"3\""));
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  Bus& bus = app->connection().default_bus();
  EXPECT_TRUE(in_catalog(*app, "py.expire_session")) << "tools on later pages are listed too";
  EXPECT_FALSE(in_catalog(*app, "py.fresh"));
  ASSERT_TRUE(bus.invoke_payload("py.add_tool", R"({"name":"fresh"})").ok());
  ASSERT_TRUE(eventually([&] { return in_catalog(*app, "py.fresh"); }));
  auto r = bus.invoke_payload("py.fresh", "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(payload_json(r.value())["text"], "dynamic fresh");
  ASSERT_TRUE(bus.invoke_payload("py.remove_tool", R"({"name":"fresh"})").ok());
  ASSERT_TRUE(eventually([&] { return !in_catalog(*app, "py.fresh"); }));
  EXPECT_EQ(bus.invoke_payload("py.fresh", "{}").status().code(), ErrorCode::kNoHandler);
}

TEST(McpBridge, StdioServerCrashFailsFastThenReconnects) {
  ASSERT_TRUE(mcp::test::have_python_mcp());
  mcp::test::TempDir state;
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", python_stdio_manifest(state.path()));
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  Bus& bus = app->connection().default_bus();

  // The server crashes mid-call ("crash" writes the "down" marker, then exits) and
  // cannot start while the marker is there.
  Status refused = expect_loss_fails_fast(*app, bus, "py", "py.slow", "py.echo",
                                          [&] { (void)bus.invoke_payload("py.crash", "{}"); });
  EXPECT_NE(refused.message().find("reconnecting"), std::string::npos);

  // The server can start again: the bridge reconnects by itself.
  std::filesystem::remove(state.file("down"));
  expect_serving_again(*app, bus, "py", "py.echo");
}

TEST(McpBridge, HttpServerLossSessionExpiryAndRedaction) {
  ASSERT_TRUE(mcp::test::have_python_mcp());
  mcp::test::TempDir state;
  // The server refuses requests without this bearer token: the bridge sends it.
  auto server = mcp::test::python_http(state.path(), false, "s3cr3t-t0ken-value");
  ASSERT_TRUE(server.start());
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", http_manifest("pyhttp", server.url,
                                             "      token: s3cr3t-t0ken-value\n      headers: {X-Trace-Test: yes}\n"));
  auto app = start_host(dir.options(), 30s);
  ASSERT_TRUE(app);
  Bus& bus = app->connection().default_bus();

  // A tool error that quotes the token: redacted.
  auto err = bus.invoke_payload("pyhttp.fail", R"({"message":"auth s3cr3t-t0ken-value rejected"})");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(reply_status(err.value()).message(), "auth [REDACTED] rejected");

  // list_changed sent outside a request reaches the bridge on the GET stream.
  ASSERT_TRUE(bus.invoke_payload("pyhttp.add_tool", R"({"name":"late"})").ok());
  EXPECT_TRUE(eventually([&] { return in_catalog(*app, "pyhttp.late"); }));

  // Session expiry (404): transparent.
  ASSERT_TRUE(bus.invoke_payload("pyhttp.expire_session", "{}").ok());
  std::this_thread::sleep_for(600ms);
  auto r = bus.invoke_payload("pyhttp.echo", R"({"text":"new session"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(payload_json(r.value())["text"], "new session");

  // Server gone mid-call: the call fails at once, calls fail fast, DEGRADED.
  (void)expect_loss_fails_fast(*app, bus, "pyhttp", "pyhttp.slow", "pyhttp.echo", [&] { server.kill(); });

  // Back on the same port: reconnected and re-registered by itself.
  ASSERT_TRUE(server.start());
  expect_serving_again(*app, bus, "pyhttp", "pyhttp.echo");
}

TEST(McpBridge, WrongTokenIsAnAuthFailureWithoutLeakingIt) {
  ASSERT_TRUE(mcp::test::have_python_mcp());
  mcp::test::TempDir state;
  auto server = mcp::test::python_http(state.path(), false, "the-right-token");
  ASSERT_TRUE(server.start());
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  dir.add_manifest("mcp.yaml", http_manifest("locked", server.url, "      token: wr0ng-t0ken-value\n"));
  auto app = HostApp::start(dir.options());
  ASSERT_TRUE(app.ok()) << app.status().to_string();
  std::string detail;
  ASSERT_TRUE(eventually([&] {
    for (const auto& s : app.value()->supervisor().status())
      if (s.name == "locked" && s.state == BridgeState::kDegraded) {
        detail = s.last_error;
        return true;
      }
    return false;
  }));
  EXPECT_NE(detail.find("HTTP 401"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("wr0ng-t0ken-value"), std::string::npos) << "token leaked: " << detail;
}

// The "done when" of the issue, through the real binary: `oaio run` with the example
// manifest, then `oaio call` and `oaio stream` against it (via its HTTP gateway).
TEST(McpBridge, ExampleManifestWithTheCli) {
  ASSERT_TRUE(mcp::test::have_everything());
  mcp::test::TempDir state;
  int port = mcp::test::free_port();
  std::string oaio = std::string(OAIO_BINARY_DIR) + "/bin/oaio";
  std::string addr = "127.0.0.1:" + std::to_string(port);
  test::SubprocessOptions run;
  run.argv = {oaio, "run", "--plugins", std::string(OAIO_BINARY_DIR) + "/plugins", "--manifest",
              std::string(OAIO_SOURCE_DIR) + "/manifests/mcp-everything.yaml", "--http", addr,
              "--state-dir", state.path()};
  run.cwd = OAIO_SOURCE_DIR;  // the example's command is relative to the repo root
  run.stderr_mode = test::SubprocessOptions::Stderr::kCapture;
  auto host = test::Subprocess::start(run);
  ASSERT_TRUE(host.ok()) << host.status().to_string();
  auto cli = [&](std::vector<std::string> args) {
    test::SubprocessOptions o;
    o.argv = {oaio};
    for (auto& a : args) o.argv.push_back(a);
    o.stderr_mode = test::SubprocessOptions::Stderr::kCapture;
    auto p = test::Subprocess::start(o);
    std::vector<std::string> lines;
    if (!p.ok()) return lines;
    while (auto l = p.value()->read_line(20s)) lines.push_back(*l);
    p.value()->wait(5s);
    return lines;
  };
  ASSERT_TRUE(eventually(
      [&] {
        auto c = cli({"catalog", "--http", addr});
        for (const auto& l : c)
          if (l.find("everything.echo") != std::string::npos) return true;
        return false;
      },
      30s))
      << host.value()->captured_stderr();
  auto echo = cli({"call", "--http", addr, "everything.echo", R"({"message":"hi"})"});
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(echo[0])["text"], "Echo: hi");
  auto frames = cli({"stream", "--http", addr, "everything.trigger-long-running-operation", R"({"duration":0.4,"steps":2})"});
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(frames[1])["payload"]["progress"], 1);
  EXPECT_EQ(nlohmann::json::parse(frames[3])["event_type"], "agent.response.final");
  host.value()->kill(SIGTERM);
  auto exit = host.value()->wait(15s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->success()) << exit->to_string();
}

TEST(McpBridge, UnreachableServerAtStartIsDegradedNotFatal) {
  HostDir dir;
  dir.add_plugin(test::built_plugin("mcp"));
  int port = mcp::test::free_port();
  dir.add_manifest("mcp.yaml", http_manifest("nowhere", "http://127.0.0.1:" + std::to_string(port) + "/mcp"));
  auto app = HostApp::start(dir.options());
  ASSERT_TRUE(app.ok()) << app.status().to_string();
  EXPECT_TRUE(eventually([&] { return state_of(*app.value(), "nowhere") == BridgeState::kDegraded; }));
}

}  // namespace
}  // namespace oaio::host
