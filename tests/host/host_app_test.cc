// The host end to end: HostApp with the example plugins (plain C and C++) on the
// in-process bus and over a real nats-server; supervisor back-off, budget, retry-after
// and startup-failure behaviour; a plugin crashing in subprocess isolation while the
// host keeps serving; graceful drain; and the CLI verbs against a running host.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "host_app.h"
#include "oaio/nats_transport.h"
#include "support/bus_fixture.h"
#include "support/host_fixture.h"
#include "support/nats_server.h"
#include "support/subprocess.h"
#include "support/test_util.h"

namespace oaio::host {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using test::collect;
using test::HostDir;
using test::payload_json;
using test::start_host;

const std::string kBuild = OAIO_BINARY_DIR;

const char* kEchoManifest = R"(
bridges:
  - name: echo
    plugin: echo_c
    config: {target: echo, chunk_size: 3}
  - name: echo-cpp
    plugin: echo_cpp
    config: {target: echo-cpp}
)";

// The two example plugins and kEchoManifest (targets "echo" and "echo-cpp").
void add_echo_bridges(HostDir& dir) {
  dir.add_plugin(kBuild + "/plugins/echo_c.so");
  dir.add_plugin(kBuild + "/plugins/echo_cpp.so");
  dir.add_manifest("echo.yaml", kEchoManifest);
}

void expect_echo_plugins_work(Bus& bus) {
  auto c = bus.invoke_payload("echo", R"({"text":"héllo"})");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(payload_json(c.value())["plugin"], "echo_c");
  EXPECT_EQ(payload_json(c.value())["echo"]["text"], "héllo");
  auto s = bus.stream_invoke("echo-cpp", [] {
    Envelope e;
    e.payload = R"({"text":"abcdef"})";
    return e;
  }());
  ASSERT_TRUE(s.ok());
  auto frames = collect(*s.value());
  ASSERT_GE(frames.size(), 3u);
  EXPECT_EQ(frames.front().event_type, "agent.response.started");
  EXPECT_EQ(frames.back().event_type, "agent.response.final");
  EXPECT_EQ(payload_json(frames.back())["plugin"], "echo_cpp");
  std::string text;
  for (const auto& f : frames)
    if (f.event_type == "agent.response.delta") text += payload_json(f)["delta"].get<std::string>();
  EXPECT_EQ(text, "abcdef");
  // A typed error from the plugin keeps its ACP code.
  auto err = bus.invoke_payload("echo", R"({"fail":{"code":"AUTH_FAILURE","message":"bad key"}})");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(reply_status(err.value()).code(), ErrorCode::kAuthFailure);
}

TEST(HostAppTest, ExamplePluginsServeOnTheInProcessBus) {
  HostDir dir;
  add_echo_bridges(dir);
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  expect_echo_plugins_work(app->connection().default_bus());
  auto catalog = app->catalog().to_json();
  ASSERT_EQ(catalog["targets"].size(), 2u);
  EXPECT_EQ(catalog["targets"][0]["target"], "echo");
  EXPECT_EQ(catalog["targets"][0]["flows"], nlohmann::json::parse(R"(["invoke","stream"])"));
}

TEST(HostAppTest, ExamplePluginsServeOverNats) {
  test::NatsServer nats;
  ASSERT_TRUE(nats.start());
  HostDir dir;
  add_echo_bridges(dir);
  auto app = start_host(dir.options(nats.url()));
  ASSERT_TRUE(app);
  NatsOptions o;
  o.servers = {nats.url()};
  auto client = test::open_bus(connect_nats(o).value(), test::bus_options("remote-client"));
  expect_echo_plugins_work(*client);
}

TEST(HostAppTest, TargetPrefixAndTenantFromTheManifest) {
  HostDir dir;
  dir.add_plugin(kBuild + "/plugins/echo_c.so");
  dir.add_manifest("echo.yaml", R"(
bridges:
  - name: scoped
    plugin: echo_c
    tenant: acme
    target_prefix: tools
    config: {target: echo}
)");
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  Envelope req;
  req.tenant_id = "acme";
  auto r = app->connection().default_bus().invoke("tools.echo", req);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(payload_json(r.value())["plugin"], "echo_c");
  EXPECT_EQ(app->connection().default_bus().invoke_payload("tools.echo", "{}").status().code(), ErrorCode::kNoHandler);
}

TEST(HostAppTest, SupervisorRetriesWithBackoffUntilTheBridgeRuns) {
  HostDir dir;
  dir.add_plugin(kBuild + "/test-plugins/flaky_start/flaky_start.so");
  dir.add_manifest("flaky.yaml", R"(
bridges:
  - name: flaky
    plugin: flaky_start
    config: {fail_starts: 2}
    restart: {max_restarts: 5, window_seconds: 60, initial_backoff_ms: 10, max_backoff_ms: 50}
)");
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  auto status = app->supervisor().status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].restarts, 2);
  EXPECT_THAT(status[0].last_error, HasSubstr("upstream not reachable yet"));
  EXPECT_TRUE(app->connection().default_bus().invoke_payload("flaky", "{}").ok());
}

TEST(HostAppTest, RestartBudgetExhaustedLeavesTheBridgeFailed) {
  HostDir dir;
  dir.add_plugin(kBuild + "/test-plugins/flaky_start/flaky_start.so");
  dir.add_manifest("flaky.yaml", R"(
bridges:
  - name: hopeless
    plugin: flaky_start
    config: {fail_starts: 1000}
    restart: {max_restarts: 3, window_seconds: 60, initial_backoff_ms: 5, max_backoff_ms: 20}
)");
  auto app = HostApp::start(dir.options());
  ASSERT_TRUE(app.ok());
  ASSERT_TRUE(app.value()->supervisor().wait_for(
      [](const auto& all) { return all.size() == 1 && all[0].state == BridgeState::kFailed; }, std::chrono::seconds(10)));
  auto s = app.value()->supervisor().status()[0];
  EXPECT_EQ(s.restarts, 3);
  EXPECT_THAT(s.last_error, HasSubstr("restart budget of 3 in 60 s exhausted"));
  EXPECT_FALSE(app.value()->supervisor().all_running());
}

TEST(HostAppTest, RetryAfterHintFromThePluginIsHonoured) {
  HostDir dir;
  dir.add_plugin(kBuild + "/test-plugins/flaky_start/flaky_start.so");
  dir.add_manifest("flaky.yaml", R"(
bridges:
  - name: polite
    plugin: flaky_start
    config: {fail_starts: 1, retry_after_ms: 400}
    restart: {initial_backoff_ms: 1, max_backoff_ms: 2}
)");
  auto start = std::chrono::steady_clock::now();
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
}

TEST(HostAppTest, StartupFailureBehaviours) {
  for (std::string mode : {"fail", "ignore"}) {
    HostDir dir;
    dir.add_plugin(kBuild + "/test-plugins/flaky_start/flaky_start.so");
    dir.add_manifest("flaky.yaml", R"(
bridges:
  - name: once
    plugin: flaky_start
    on_startup_failure: )" + mode + R"(
    config: {fail_starts: 1000}
    restart: {initial_backoff_ms: 1, max_backoff_ms: 2}
)");
    auto app = HostApp::start(dir.options());
    ASSERT_TRUE(app.ok());
    ASSERT_TRUE(app.value()->supervisor().wait_for(
        [](const auto& all) { return all.size() == 1 && all[0].state == BridgeState::kFailed; },
        std::chrono::seconds(10)))
        << mode;
    EXPECT_EQ(app.value()->supervisor().status()[0].restarts, 0) << mode;
    EXPECT_EQ(app.value()->supervisor().fatal(), mode == "fail");
  }
}

TEST(HostAppTest, PluginReportingFailureIsRestarted) {
  HostDir dir;
  dir.add_plugin(kBuild + "/test-plugins/flaky_start/flaky_start.so");
  dir.add_manifest("flaky.yaml", R"(
bridges:
  - name: wobbly
    plugin: flaky_start
    config: {report_failed: true}
    restart: {initial_backoff_ms: 1, max_backoff_ms: 5}
)");
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  ASSERT_TRUE(app->connection().default_bus().invoke_payload("flaky", "{}").ok());  // reports FAILED
  ASSERT_TRUE(app->supervisor().wait_for(
      [](const auto& all) { return all[0].restarts == 1 && all[0].state == BridgeState::kRunning; },
      std::chrono::seconds(10)));
  EXPECT_THAT(app->supervisor().status()[0].last_error, HasSubstr("lost the upstream"));
}

// OAIO_FEATURE_NONBLOCKING_CALL: the host calls such a plugin on the thread that
// delivered the request (in-process: the caller's own), any other plugin on a bus
// worker.
TEST(HostAppTest, NonblockingPluginsAreCalledOnTheDeliveringThread) {
  HostDir dir;
  dir.add_plugin(kBuild + "/test-plugins/where_called/where_called.so");
  dir.add_plugin(kBuild + "/test-plugins/where_called_pooled/where_called_pooled.so");
  dir.add_manifest("where.yaml", R"(
bridges:
  - name: inline
    plugin: where_called
  - name: pooled
    plugin: where_called_pooled
)");
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  const long me = static_cast<long>(::syscall(SYS_gettid));
  auto inline_reply = app->connection().default_bus().invoke_payload("where_called", "{}");
  ASSERT_TRUE(inline_reply.ok()) << inline_reply.status().to_string();
  EXPECT_EQ(payload_json(*inline_reply)["tid"], me);
  auto pooled_reply = app->connection().default_bus().invoke_payload("where_called_pooled", "{}");
  ASSERT_TRUE(pooled_reply.ok()) << pooled_reply.status().to_string();
  EXPECT_NE(payload_json(*pooled_reply)["tid"], me);
}

// A plugin that completes with a payload that is not JSON: the caller gets
// CODEC_FAILURE at once, an Invoke caller and a stream caller alike, and the host goes
// on serving. (The passthrough test plugin answers "garbage" with broken JSON.)
TEST(HostAppTest, APluginReplyThatIsNotJsonReachesTheCallerAsCodecFailure) {
  HostDir dir;
  dir.add_plugin(kBuild + "/test-plugins/passthrough/passthrough.so");
  dir.add_manifest("pt.yaml", "bridges:\n  - name: pt\n    plugin: passthrough\n");
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  Bus& bus = app->connection().default_bus();
  auto reply = bus.invoke_payload("passthrough", R"("garbage")");
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  EXPECT_EQ(reply->event_type, "agent.response.error");
  Status s = reply_status(*reply);
  EXPECT_EQ(s.code(), ErrorCode::kCodecFailure);
  EXPECT_THAT(s.message(), HasSubstr("not valid JSON"));

  auto stream = bus.stream_invoke("passthrough", make_envelope("agent.message.received", R"("garbage")"));
  ASSERT_TRUE(stream.ok());
  auto frames = collect(**stream);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().event_type, "agent.response.error");
  Status fs = reply_status(frames.back());
  EXPECT_EQ(fs.code(), ErrorCode::kCodecFailure);
  EXPECT_EQ(fs.message(), "bridge \"pt\" returned a payload that is not valid JSON");

  // The target still serves good payloads, both ways.
  auto good = bus.invoke_payload("passthrough", R"({"k":[1,"two"]})");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->payload, R"({"k":[1,"two"]})");
}

TEST(HostAppTest, GracefulShutdownLetsInFlightCallsFinish) {
  HostDir dir;
  dir.add_plugin(kBuild + "/plugins/echo_c.so");
  dir.add_manifest("slow.yaml", R"(
bridges:
  - name: slow
    plugin: echo_c
    config: {target: slow, delay_ms: 300}
)");
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  // A client on the same in-process transport, which outlives the host's own buses.
  std::optional<Result<Envelope>> result;
  std::mutex mu;
  app->connection().default_bus().invoke_async("slow", Envelope{}, {}, [&](Result<Envelope> r) {
    std::lock_guard lock(mu);
    result.emplace(std::move(r));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  app->shutdown();
  std::lock_guard lock(mu);
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status().to_string();
  EXPECT_EQ(payload_json(result->value())["plugin"], "echo_c");
}

TEST(HostAppTest, CrashingSubprocessBridgeDoesNotTakeTheHostDown) {
  test::NatsServer nats;
  ASSERT_TRUE(nats.start());
  HostDir dir;
  dir.add_plugin(kBuild + "/plugins/echo_c.so");
  dir.add_plugin(kBuild + "/test-plugins/crasher/crasher.so");
  dir.add_manifest("mixed.yaml", R"(
bridges:
  - name: echo
    plugin: echo_c
    config: {target: echo}
  - name: crashy
    plugin: crasher
    isolation: subprocess
    restart: {initial_backoff_ms: 10, max_backoff_ms: 50}
)");
  auto app = start_host(dir.options(nats.url()));
  ASSERT_TRUE(app);
  NatsOptions o;
  o.servers = {nats.url()};
  auto client = test::open_bus(connect_nats(o).value(), test::bus_options("client"));
  ASSERT_TRUE(client->invoke_payload("crasher", R"({"hello":1})").ok());
  CallOptions quick;
  quick.timeout = std::chrono::milliseconds(500);
  auto crash = client->invoke_payload("crasher", R"({"crash":true})", quick);
  EXPECT_FALSE(crash.ok());  // the child died mid-call
  // The host itself keeps answering.
  auto echo = client->invoke_payload("echo", R"({"still":"here"})");
  ASSERT_TRUE(echo.ok()) << echo.status().to_string();
  EXPECT_EQ(payload_json(echo.value())["echo"]["still"], "here");
  // And the supervisor brings the crashed bridge back.
  ASSERT_TRUE(app->supervisor().wait_for(
      [](const auto& all) {
        for (const auto& s : all)
          if (s.name == "crashy") return s.restarts >= 1 && s.state == BridgeState::kRunning;
        return false;
      },
      std::chrono::seconds(15)));
  auto crashy = std::find_if(app->supervisor().status().begin(), app->supervisor().status().end(),
                             [](const BridgeStatus& s) { return s.name == "crashy"; });
  (void)crashy;
  EXPECT_TRUE(test::wait_until([&] { return client->invoke_payload("crasher", R"({"again":2})", quick).ok(); },
                               std::chrono::seconds(10)));
}

TEST(HostAppTest, SubprocessIsolationWithoutNatsIsRefusedClearly) {
  HostDir dir;
  dir.add_plugin(kBuild + "/test-plugins/crasher/crasher.so");
  dir.add_manifest("iso.yaml", R"(
bridges:
  - name: crashy
    plugin: crasher
    isolation: subprocess
)");
  auto app = HostApp::start(dir.options());
  ASSERT_TRUE(app.ok());
  ASSERT_TRUE(app.value()->supervisor().wait_for(
      [](const auto& all) { return all.size() == 1 && all[0].state == BridgeState::kFailed; }, std::chrono::seconds(5)));
  EXPECT_THAT(app.value()->supervisor().status()[0].last_error, HasSubstr("subprocess needs a NATS bus"));
}

// ---- the CLI against a running host over NATS ----

struct CliResult {
  test::ExitInfo exit;
  std::vector<std::string> lines;
  std::string err;
};

CliResult run_cli(std::vector<std::string> args) {
  test::SubprocessOptions so;
  so.argv = {kBuild + "/bin/oaio"};
  for (auto& a : args) so.argv.push_back(a);
  so.stderr_mode = test::SubprocessOptions::Stderr::kCapture;
  auto p = test::Subprocess::start(so);
  EXPECT_TRUE(p.ok());
  CliResult r;
  while (auto line = p.value()->read_line(std::chrono::seconds(10))) r.lines.push_back(*line);
  r.exit = p.value()->wait(std::chrono::seconds(10)).value_or(test::ExitInfo{});
  r.err = p.value()->captured_stderr();
  return r;
}

// `oaio catalog --json` output of a host running kEchoManifest: both echo targets.
void expect_echo_catalog(const CliResult& catalog) {
  EXPECT_TRUE(catalog.exit.success()) << catalog.err;
  std::string all;
  for (const auto& l : catalog.lines) all += l;
  auto targets = nlohmann::json::parse(all)["targets"];
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0]["target"], "echo");
  EXPECT_EQ(targets[1]["target"], "echo-cpp");
}

TEST(HostCliTest, VerbsAgainstARunningHost) {
  test::NatsServer nats;
  ASSERT_TRUE(nats.start());
  HostDir dir;
  add_echo_bridges(dir);
  auto app = start_host(dir.options(nats.url()));
  ASSERT_TRUE(app);
  const std::string url = nats.url();

  auto call = run_cli({"call", "echo", R"({"text":"cli"})", "--nats", url});
  EXPECT_TRUE(call.exit.success()) << call.err;
  ASSERT_EQ(call.lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(call.lines[0])["echo"]["text"], "cli");

  auto stream = run_cli({"stream", "echo-cpp", R"({"text":"abcd"})", "--nats", url});
  EXPECT_TRUE(stream.exit.success()) << stream.err;
  ASSERT_GE(stream.lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(stream.lines.front())["event_type"], "agent.response.started");
  EXPECT_EQ(nlohmann::json::parse(stream.lines.back())["is_final"], true);

  // The same through one wildcard reply subscription.
  auto shared = run_cli({"call", "echo", R"({"text":"shared"})", "--nats", url, "--nats-shared-inbox"});
  EXPECT_TRUE(shared.exit.success()) << shared.err;
  ASSERT_EQ(shared.lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(shared.lines[0])["echo"]["text"], "shared");
  auto shared_stream = run_cli({"stream", "echo-cpp", R"({"text":"ab"})", "--nats", url, "--nats-shared-inbox"});
  EXPECT_TRUE(shared_stream.exit.success()) << shared_stream.err;
  ASSERT_GE(shared_stream.lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(shared_stream.lines.back())["is_final"], true);

  auto fail = run_cli({"call", "echo", R"({"fail":{"code":"INVALID_REQUEST","message":"no"}})", "--nats", url});
  EXPECT_EQ(fail.exit.code, 1);
  EXPECT_THAT(fail.err, HasSubstr("error: INVALID_REQUEST: no"));

  auto missing = run_cli({"call", "nobody", "--nats", url});
  EXPECT_EQ(missing.exit.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("NO_HANDLER"));

  auto bad_json = run_cli({"call", "echo", "{not json", "--nats", url});
  EXPECT_EQ(bad_json.exit.code, 1);
  EXPECT_THAT(bad_json.err, HasSubstr("INVALID_REQUEST"));

  expect_echo_catalog(run_cli({"catalog", "--json", "--nats", url}));

  // listen + publish: a listener started first sees the event.
  test::SubprocessOptions lo;
  lo.argv = {kBuild + "/bin/oaio", "listen", "news.flash", "--count", "1", "--nats", url};
  lo.stderr_mode = test::SubprocessOptions::Stderr::kCapture;
  auto listener = test::Subprocess::start(lo);
  ASSERT_TRUE(listener.ok());
  ASSERT_TRUE(test::wait_until([&] { return listener.value()->captured_stderr().find("listening") != std::string::npos; },
                               std::chrono::seconds(10)));
  auto pub = run_cli({"publish", "news.flash", R"({"headline":"hi"})", "--nats", url});
  EXPECT_TRUE(pub.exit.success()) << pub.err;
  auto line = listener.value()->read_line(std::chrono::seconds(10));
  ASSERT_TRUE(line.has_value());
  auto event = nlohmann::json::parse(*line);
  EXPECT_EQ(event["event_type"], "news.flash");
  EXPECT_EQ(event["payload"]["headline"], "hi");
  EXPECT_TRUE(listener.value()->wait(std::chrono::seconds(10)).value_or(test::ExitInfo{}).success());

  auto usage = run_cli({"call"});
  EXPECT_EQ(usage.exit.code, 2);
  auto version = run_cli({"--version"});
  EXPECT_TRUE(version.exit.success());
  ASSERT_FALSE(version.lines.empty());
  EXPECT_THAT(version.lines[0], HasSubstr("plugin ABI 1." + std::to_string(OAIO_PLUGIN_ABI_MINOR)));
}

// The quick start's path: `oaio run --http` on the in-process bus, and the CLI verbs
// reaching it through the gateway (with its bearer token).
TEST(HostCliTest, VerbsThroughTheGatewayOfAnInProcessHost) {
  HostDir dir;
  add_echo_bridges(dir);
  HostOptions options = dir.options();
  options.http = "127.0.0.1:" + std::to_string(test::free_loopback_port());
  options.http_token = "s3cret";
  auto app = start_host(std::move(options));
  ASSERT_TRUE(app);
  const std::string http = "127.0.0.1:" + std::to_string(app->http_port());
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--http", http, "--http-token", "s3cret"});
    return run_cli(std::move(args));
  };

  auto call = cli({"call", "echo", R"({"text":"über"})", "--session", "s-1"});
  EXPECT_TRUE(call.exit.success()) << call.err;
  ASSERT_EQ(call.lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(call.lines[0])["echo"]["text"], "über");

  auto stream = cli({"stream", "echo-cpp", R"({"text":"abcdef"})"});
  EXPECT_TRUE(stream.exit.success()) << stream.err;
  ASSERT_GE(stream.lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(stream.lines.front())["event_type"], "agent.response.started");
  EXPECT_EQ(nlohmann::json::parse(stream.lines.back())["event_type"], "agent.response.final");
  std::string text;
  for (const auto& l : stream.lines) {
    auto frame = nlohmann::json::parse(l);
    if (frame["event_type"] == "agent.response.delta") text += frame["payload"]["delta"].get<std::string>();
  }
  EXPECT_EQ(text, "abcdef");

  auto fail = cli({"call", "echo", R"({"fail":{"code":"AUTH_FAILURE","message":"bad key"}})"});
  EXPECT_EQ(fail.exit.code, 1);
  EXPECT_THAT(fail.err, HasSubstr("error: AUTH_FAILURE: bad key"));
  auto stream_fail = cli({"stream", "echo-cpp", R"({"fail":{"code":"AGENT_TIMEOUT","message":"slow"}})"});
  EXPECT_EQ(stream_fail.exit.code, 1);
  EXPECT_THAT(stream_fail.err, HasSubstr("AGENT_TIMEOUT"));
  auto missing = cli({"call", "nobody"});
  EXPECT_EQ(missing.exit.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("NO_HANDLER"));

  expect_echo_catalog(cli({"catalog", "--json"}));

  std::vector<Envelope> events;
  std::mutex mu;
  auto sub = app->connection().default_bus().subscribe("news.flash", [&](const Envelope& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  ASSERT_TRUE(sub.ok());
  auto pub = cli({"publish", "news.flash", R"({"headline":"hi"})"});
  EXPECT_TRUE(pub.exit.success()) << pub.err;
  ASSERT_TRUE(test::wait_until([&] { std::lock_guard lock(mu); return !events.empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(payload_json(events[0])["headline"], "hi");

  auto listen = cli({"listen", "news.flash"});
  EXPECT_EQ(listen.exit.code, 1);
  EXPECT_THAT(listen.err, HasSubstr("use --nats"));

  // A wrong token is an auth failure, not a crash; a dead address a transport failure.
  auto denied = run_cli({"call", "echo", "--http", http, "--http-token", "wrong"});
  EXPECT_EQ(denied.exit.code, 1);
  EXPECT_THAT(denied.err, HasSubstr("AUTH_FAILURE"));
  auto dead = run_cli({"call", "echo", "--http", "127.0.0.1:" + std::to_string(test::free_loopback_port())});
  EXPECT_EQ(dead.exit.code, 1);
  EXPECT_THAT(dead.err, HasSubstr("TRANSPORT_FAILURE: cannot reach the gateway"));
}

TEST(HostCliTest, ValidateReportsManifestErrorsWithLocations) {
  HostDir dir;
  dir.add_plugin(kBuild + "/plugins/echo_c.so");
  dir.add_manifest("bad.yaml", R"(
bridges:
  - name: echo
    plugin: echo_c
    config: {target: 42}
)");
  auto r = run_cli({"validate", "--plugins", dir.path() + "/plugins", "--manifests", dir.path() + "/manifests"});
  EXPECT_EQ(r.exit.code, 3);
  EXPECT_THAT(r.err, HasSubstr("bad.yaml"));
  EXPECT_THAT(r.err, HasSubstr("/bridges/0/config/target"));
}

// A seed-format file's keys that the seed ignores are warnings: named with their place,
// and the setup is still valid.
TEST(HostCliTest, ValidateShowsSeedWarningsAndPasses) {
  HostDir dir;
  dir.add_plugin(kBuild + "/test-plugins/noop/noop.so");
  dir.add_manifest("seed.yaml", R"(
version: "openagentio.bridge/v1"
bridges:
  - name: tools
    type: noop_seed
    colour: blue
)");
  auto r = run_cli({"validate", "--plugins", dir.path() + "/plugins", "--manifests", dir.path() + "/manifests"});
  EXPECT_EQ(r.exit.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("manifest warning: "));
  EXPECT_THAT(r.err, HasSubstr("seed.yaml"));
  EXPECT_THAT(r.err, HasSubstr("/bridges/0/colour"));
}

}  // namespace
}  // namespace oaio::host

namespace oaio::host {
namespace {

TEST(HostAppTest, MetricsRecordBridgeCallsAndStates) {
  HostDir dir;
  dir.add_plugin(kBuild + "/plugins/echo_c.so");
  dir.add_manifest("echo.yaml", R"(
bridges:
  - name: echo
    plugin: echo_c
    config: {target: echo}
)");
  auto app = start_host(dir.options());
  ASSERT_TRUE(app);
  Bus& bus = app->connection().default_bus();
  ASSERT_TRUE(bus.invoke_payload("echo", "{}").ok());
  ASSERT_TRUE(bus.invoke_payload("echo", R"({"fail":{"code":"AGENT_TIMEOUT","message":"slow"}})").ok());
  // Series exist (at 0) from registration on; wait for the error call's count.
  const std::string error_count = R"(oaio_bridge_calls_total{bridge="echo",outcome="error",target="echo"} 1)";
  const std::string running = R"(oaio_bridge_state{bridge="echo",state="running"} 1)";
  EXPECT_TRUE(test::wait_until([&] {
    const std::string t = app->metrics().render();
    return t.find(error_count) != std::string::npos && t.find(running) != std::string::npos;
  }));
  std::string text = app->metrics().render();
  EXPECT_THAT(text, HasSubstr(R"(oaio_bridge_calls_total{bridge="echo",outcome="ok",target="echo"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(oaio_bridge_call_errors_total{bridge="echo",code="AGENT_TIMEOUT"} 1)"));
  EXPECT_THAT(text, HasSubstr("oaio_bridge_call_duration_seconds_bucket"));
  EXPECT_THAT(text, HasSubstr(running));
}

}  // namespace
}  // namespace oaio::host
