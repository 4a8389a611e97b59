// Benchmark of the mcp bridge (the issue's numbers): a trivial tool (server-everything's
// echo over stdio) called
//   direct   - with the bridge's own MCP client (oaio_mcp_core), no bus;
//   inproc   - through a host on the in-process bus (bus invoke -> plugin -> server);
//   nats     - through a host on a real nats-server, from a separate bus client;
// reporting p50/p99 latency of sequential calls, the added latency of the bus paths over
// direct, and calls/s with 32 concurrent callers. Not a ctest; run it by hand:
//   build/tests/bridges/mcp/mcp_bench [calls=2000] [seconds=3]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "mcp_servers.h"
#include "oaio/nats_transport.h"
#include "stdio_transport.h"
#include "support/bus_fixture.h"
#include "support/host_fixture.h"
#include "support/nats_server.h"

namespace {

using Clock = std::chrono::steady_clock;
using CallFn = std::function<bool()>;

struct Numbers {
  double p50_us = 0, p99_us = 0, calls_per_s = 0;
};

Numbers measure(const CallFn& call, int calls, int seconds) {
  for (int i = 0; i < 100; ++i) call();  // warm-up
  std::vector<double> us;
  us.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    auto t0 = Clock::now();
    if (!call()) std::fprintf(stderr, "a call failed\n");
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  Numbers n;
  n.p50_us = us[us.size() / 2];
  n.p99_us = us[us.size() * 99 / 100];
  std::atomic<long> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  auto t0 = Clock::now();
  for (int i = 0; i < 32; ++i)
    callers.emplace_back([&] {
      while (!stop.load())
        if (call()) ++done;
    });
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : callers) t.join();
  n.calls_per_s = done.load() / std::chrono::duration<double>(Clock::now() - t0).count();
  return n;
}

bool bus_echo(oaio::Bus& bus) {
  auto r = bus.invoke_payload("everything.echo", R"({"message":"hi"})");
  return r.ok() && oaio::reply_status(r.value()).ok();
}

std::string manifest() {
  return "bridges:\n  - name: everything\n    plugin: mcp\n    config:\n      command: \"" +
         oaio::mcp::test::everything_bin() + "\"\n      args: [stdio]\n";
}

void print(const char* name, const Numbers& n, const Numbers* base) {
  std::printf("%-8s p50 %8.1f us  p99 %8.1f us  %9.0f calls/s (32 callers)", name, n.p50_us, n.p99_us, n.calls_per_s);
  if (base != nullptr) std::printf("  added p50 %+8.1f us", n.p50_us - base->p50_us);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  int calls = argc > 1 ? std::atoi(argv[1]) : 2000;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  using namespace oaio;

  // direct: the same client code the plugin uses.
  mcp::StdioOptions so;
  so.command = mcp::test::everything_bin();
  so.args = {"stdio"};
  mcp::Client direct(std::make_unique<mcp::StdioTransport>(so), {});
  if (auto e = direct.connect(std::chrono::seconds(20))) {
    std::fprintf(stderr, "direct connect: %s\n", e->message.c_str());
    return 1;
  }
  Numbers d = measure(
      [&] {
        auto p = std::make_shared<std::promise<bool>>();
        mcp::Client::CallRequest r;
        r.tool = "echo";
        r.arguments = {{"message", "hi"}};
        r.on_done = [p](mcp::Client::Outcome o) { p->set_value(o.result.has_value()); };
        auto sent = direct.call_tool(std::move(r));
        if (std::holds_alternative<mcp::CallError>(sent)) return false;
        return p->get_future().get();
      },
      calls, seconds);
  print("direct", d, nullptr);

  {
    test::HostDir dir;
    dir.add_plugin(test::built_plugin("mcp"));
    dir.add_manifest("mcp.yaml", manifest());
    auto app = test::start_host(dir.options(), std::chrono::seconds(30));
    if (!app) return 1;
    Numbers n = measure([&] { return bus_echo(app->connection().default_bus()); }, calls, seconds);
    print("inproc", n, &d);
  }
  {
    test::NatsServer nats;
    if (!nats.start()) return 1;
    test::HostDir dir;
    dir.add_plugin(test::built_plugin("mcp"));
    dir.add_manifest("mcp.yaml", manifest());
    auto app = test::start_host(dir.options(nats.url()), std::chrono::seconds(30));
    if (!app) return 1;
    NatsOptions o;
    o.servers = {nats.url()};
    auto client = test::open_bus(connect_nats(o).value(), test::bus_options("bench-client"));
    Numbers n = measure([&] { return bus_echo(*client); }, calls, seconds);
    print("nats", n, &d);
  }
  return 0;
}
