// host_bench: what the plugin host adds, each figure next to a baseline measured in the
// same run:
//   - ABI hop: Invoke of the plain-C echo plugin through the host vs a handler that
//     does the same work registered directly on the same in-process bus (same handler
//     options as the host uses for plugin targets): both check the payload as JSON
//     and look for its "fail" and "text" members in one pass, then build the same
//     reply. The hop alone is measured too: the passthrough test plugin (C, answers
//     with the payload it got) vs a handler that returns its payload. Target:
//     <= 100 ns added. All four paths are interleaved; the added time is the median
//     over rounds of the per-round difference (bench_util.h says why), with the
//     difference of the overall means next to it.
//   - Gateway: POST /v1/agents/echo/invoke and /stream (SSE, time to the end of the
//     final frame) over a kept-alive HTTP connection vs the same call on the bus.
//   - Cold start: `oaio run` with the echo manifest until /readyz answers 200, vs the
//     same binary's `oaio --version` (process start and dynamic linking alone).
//     Target: <= 100 ms. Idle RSS of that host one second after ready (target <= 20 MB).
// Usage: host_bench [--quick]. Run through scripts/bench.sh.
#include <httplib.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "bench_util.h"
#include "json_scan.h"
#include "oaio/bus.h"
#include "support/host_fixture.h"
#include "support/subprocess.h"
#include "support/test_util.h"

using namespace oaio;
using namespace oaio::bench;

namespace {

int g_iterations = 20000;
int g_http_iterations = 3000;
int g_starts = 10;
const std::string kPayload = R"({"text":")" + std::string(243, 'x') + "\"}";  // 256 bytes of JSON
const std::string kEchoManifest = "bridges:\n  - name: echo\n    plugin: echo_c\n    config: {target: echo}\n";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "host_bench: %s\n", what.c_str());
  std::exit(1);
}

// echo_c's payload check, with core's JSON scanner: the payload is one JSON value, and
// an object's top-level "fail" and "text" members are found in the same pass.
bool scan_like_echo_c(std::string_view payload, std::string_view* fail, std::string_view* text) {
  detail::JsonScanner s(payload);
  if (s.peek_kind() != detail::JsonKind::kObject) return s.skip_value() && s.at_end();
  s.begin_object();
  std::string_view key;
  std::string scratch;
  while (s.next_member(&key, &scratch)) {
    std::string_view raw;
    if (!s.skip_value(&raw)) return false;
    if (key == "fail") *fail = raw;
    if (key == "text") *text = raw;
  }
  return !s.failed() && s.at_end();
}

// What echo_c does for an Invoke, in C++: the baseline handler does the same work.
Handler direct_echo() {
  return sync_invoke([](Call& c) -> Result<Envelope> {
    std::string_view fail, text;
    const std::string& payload = c.request().payload;
    if (!payload.empty() && !scan_like_echo_c(payload, &fail, &text)) {
      return Status::invalid("echo: payload is not valid JSON");
    }
    if (!fail.empty() && fail.front() == '{') return Status::invalid("echo: asked to fail");
    std::string out = "{\"echo\":";
    out += c.request().payload.empty() ? std::string("null") : c.request().payload;
    out += ",\"plugin\":\"echo_c\"}";
    return result_payload(std::move(out));
  });
}

// What the passthrough plugin does, as a bus handler.
Handler direct_passthrough() {
  return sync_invoke([](Call& c) -> Result<Envelope> { return result_payload(c.request().payload); });
}

std::function<void()> invoke_path(Bus& bus, std::string target) {
  return [&bus, target] {
    auto r = bus.invoke_payload(target, kPayload);
    if (!r.ok()) die("invoke " + target + ": " + r.status().to_string());
  };
}

Latencies time_invokes(Bus& bus, const std::string& target, int n) {
  Latencies lat;
  for (int i = 0; i < n + n / 10; ++i) {
    auto t0 = Clock::now();
    auto r = bus.invoke_payload(target, kPayload);
    if (!r.ok()) die("invoke " + target + ": " + r.status().to_string());
    if (i >= n / 10) lat.add(Clock::now() - t0);  // the first tenth warms up
  }
  return lat;
}

Latencies time_http(httplib::Client& http, const std::string& path, int n, bool stream) {
  Latencies lat;
  for (int i = 0; i < n + n / 10; ++i) {
    auto t0 = Clock::now();
    auto res = http.Post(path, kPayload, "application/json");
    if (!res || res->status != 200) die("POST " + path + ": " + (res ? std::to_string(res->status) : "no response"));
    if (stream && res->body.find("agent.response.final") == std::string::npos) die("stream without a final frame");
    if (i >= n / 10) lat.add(Clock::now() - t0);
  }
  return lat;
}

Latencies time_bus_stream(Bus& bus, const std::string& target, int n) {
  Latencies lat;
  for (int i = 0; i < n + n / 10; ++i) {
    auto t0 = Clock::now();
    Envelope request;
    request.payload = kPayload;
    auto s = bus.stream_invoke(target, request);
    if (!s.ok()) die("stream: " + s.status().to_string());
    while (true) {
      auto f = s.value()->next();
      if (!f.ok()) die("stream: " + f.status().to_string());
      if (!f.value()) break;
    }
    if (i >= n / 10) lat.add(Clock::now() - t0);
  }
  return lat;
}

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

struct ColdStart {
  Latencies to_ready;
  Latencies version;
  double idle_rss_mib = 0;
};

// Starts `oaio run` g_starts times on `dir` and times each start until /readyz is 200.
ColdStart measure_cold_start(const test::HostDir& dir) {
  const std::string oaio = std::string(OAIO_BINARY_DIR) + "/bin/oaio";
  ColdStart out;
  for (int i = 0; i < g_starts; ++i) {
    auto t0 = Clock::now();
    auto v = test::Subprocess::start({.argv = {oaio, "--version"},
                                      .stderr_mode = test::SubprocessOptions::Stderr::kDiscard});
    if (!v.ok() || !(*v)->wait(std::chrono::seconds(10))) die("oaio --version did not run");
    out.version.add(Clock::now() - t0);
  }
  for (int i = 0; i < g_starts; ++i) {
    int port = test::free_loopback_port();
    auto t0 = Clock::now();
    auto host = test::Subprocess::start(
        {.argv = {oaio, "--log-level", "error", "run", "--plugins", dir.path() + "/plugins", "--manifests",
                  dir.path() + "/manifests", "--http", "127.0.0.1:" + std::to_string(port)},
         .cwd = dir.path(),
         .stderr_mode = test::SubprocessOptions::Stderr::kDiscard});
    if (!host.ok()) die("oaio run: " + host.status().to_string());
    httplib::Client http("127.0.0.1", port);
    http.set_connection_timeout(std::chrono::milliseconds(50));
    bool ready = false;
    while (!ready && Clock::now() - t0 < std::chrono::seconds(10)) {
      auto res = http.Get("/readyz");
      ready = res && res->status == 200;
      if (!ready) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (!ready) die("oaio run did not become ready in 10 s");
    out.to_ready.add(Clock::now() - t0);
    if (i == 0) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      out.idle_rss_mib = static_cast<double>(rss_kib((*host)->pid())) / 1024.0;
    }
    (*host)->kill(SIGTERM);
    (*host)->wait(std::chrono::seconds(10));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--quick") == 0) {
    g_iterations = 3000;
    g_http_iterations = 500;
    g_starts = 5;
  }
  test::HostDir dir;
  dir.add_plugin(test::built_plugin("echo_c"));
  dir.add_plugin(std::string(OAIO_BINARY_DIR) + "/test-plugins/passthrough/passthrough.so");
  dir.add_manifest("echo.yaml", kEchoManifest);
  dir.add_manifest("passthrough.yaml", "bridges:\n  - name: passthrough\n    plugin: passthrough\n");

  // In-process host with the gateway on a free port.
  host::HostOptions options = dir.options();
  options.http = "127.0.0.1:" + std::to_string(test::free_loopback_port());
  options.logger = std::make_shared<host::HostLogger>(host::LogFormat::kText, LogLevel::kError);
  auto app = test::start_host(std::move(options));
  if (!app) die("the host did not start");
  Bus& bus = app->connection().default_bus();
  // BridgeHost registers the targets of a plugin declaring OAIO_FEATURE_NONBLOCKING_CALL
  // (echo_c does) to run on the delivering thread; the baselines do the same.
  HandlerOptions same_as_host;
  same_as_host.run_inline = true;
  auto direct = bus.handle_invoke("direct-echo", direct_echo(), same_as_host);
  if (!direct.ok()) die(direct.status().to_string());
  auto direct_pt = bus.handle_invoke("direct-passthrough", direct_passthrough(), same_as_host);
  if (!direct_pt.ok()) die(direct_pt.status().to_string());

  std::vector<LatencyPath> paths;
  paths.push_back({"echo_c", invoke_path(bus, "echo"), {}});
  paths.push_back({"direct echo", invoke_path(bus, "direct-echo"), {}});
  paths.push_back({"passthrough", invoke_path(bus, "passthrough"), {}});
  paths.push_back({"direct passthrough", invoke_path(bus, "direct-passthrough"), {}});
  measure_interleaved(paths, g_iterations);
  auto abi_rows = [](const Latencies& through_host, const Latencies& on_bus) {
    return std::vector<Row>{{"invoke p50", through_host.percentile(50), on_bus.percentile(50), "us", true, ""},
                            {"invoke p99", through_host.percentile(99), on_bus.percentile(99), "us", true, ""},
                            {"invoke mean", mean_ns(through_host) / 1000, mean_ns(on_bus) / 1000, "us", true, ""}};
  };
  auto print_added = [](const Latencies& through_host, const Latencies& on_bus) {
    std::printf("%-46s %12.0f ns  (target <= 100 ns)\n", "added per call (median of rounds)",
                median_round_difference_ns(through_host, on_bus));
    std::printf("%-46s %12.0f ns\n", "added per call (difference of means)", mean_ns(through_host) - mean_ns(on_bus));
  };
  print_rows("ABI hop: C echo plugin vs the same work in a handler on the bus (in-process)",
             abi_rows(paths[0].lat, paths[1].lat));
  print_added(paths[0].lat, paths[1].lat);
  print_rows("ABI hop alone: passthrough C plugin vs a handler returning its payload (in-process)",
             abi_rows(paths[2].lat, paths[3].lat));
  print_added(paths[2].lat, paths[3].lat);

  httplib::Client http("127.0.0.1", app->http_port());
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);  // as curl and browsers do
  Latencies gw_invoke = time_http(http, "/v1/agents/echo/invoke", g_http_iterations, false);
  Latencies bus_invoke = time_invokes(bus, "echo", g_http_iterations);
  Latencies gw_stream = time_http(http, "/v1/agents/echo/stream", g_http_iterations, true);
  Latencies bus_stream = time_bus_stream(bus, "echo", g_http_iterations);
  print_rows("Gateway (HTTP, kept-alive connection) vs the same call on the bus",
             {{"invoke p50", gw_invoke.percentile(50), bus_invoke.percentile(50), "us", true, ""},
              {"invoke p99", gw_invoke.percentile(99), bus_invoke.percentile(99), "us", true, ""},
              {"stream to final p50", gw_stream.percentile(50), bus_stream.percentile(50), "us", true, ""},
              {"stream to final p99", gw_stream.percentile(99), bus_stream.percentile(99), "us", true, ""}});
  app->shutdown();

  test::HostDir echo_only;  // the quick start's host: the echo example alone
  echo_only.add_plugin(test::built_plugin("echo_c"));
  echo_only.add_manifest("echo.yaml", kEchoManifest);
  ColdStart cold = measure_cold_start(echo_only);
  print_rows("Cold start: `oaio run` to /readyz 200 vs `oaio --version`",
             {{"start to ready p50", cold.to_ready.percentile(50) / 1000, cold.version.percentile(50) / 1000, "ms",
               true, "<= 100 ms"},
              {"start to ready max", cold.to_ready.percentile(100) / 1000, cold.version.percentile(100) / 1000, "ms",
               true, ""}});
  std::printf("%-46s %12.1f MiB  (target <= 20 MB)\n", "idle RSS, 1 s after ready", cold.idle_rss_mib);
  return 0;
}
