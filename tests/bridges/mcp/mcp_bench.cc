// Benchmark of the mcp bridge (the issue's numbers): a trivial tool (server-everything's
// echo over stdio) called
//   direct   - with the bridge's own MCP client (oaio_mcp_core), no bus;
//   inproc   - through a host on the in-process bus (bus invoke -> plugin -> server);
//   nats     - through a host on a real nats-server, from a separate bus client;
// and, as the fair baseline for the NATS path, on the same nats-server:
//   nats-hop - a raw nats.c request/reply echo (what one NATS round trip costs here);
//   nats-raw - a raw nats.c responder in front of a direct client (NATS hop + direct).
// Reports p50/p99 latency of sequential calls (the paths interleaved in blocks of 50
// calls), the added latency over direct (and of the bus path over nats-raw), context
// switches of this process (bench, hosts and their threads; not nats-server or node)
// per sequential call, and calls/s with 32 concurrent callers (one path at a time).
// Not a ctest; run it by hand:
//   build/tests/bridges/mcp/mcp_bench [calls=2000] [seconds=3] [paths=inproc,nats]
// (`paths` picks what runs besides direct, e.g. "nats" alone when profiling that path.)
#include <nats/nats.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
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
  double p50_us = 0, p99_us = 0, calls_per_s = 0, switches_per_call = 0;
};

// Voluntary + involuntary context switches of this whole process so far.
long context_switches() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_nvcsw + u.ru_nivcsw;
}

struct Path {
  const char* name;
  CallFn call;
  std::vector<double> us;  // sequential call latencies
  long switches = 0;       // context switches of this process during those calls
};

// Sequential latency, interleaved: each round makes kBlock calls on every path in turn,
// so a burst of load from elsewhere on this shared machine hits all paths alike
// (measuring one path after the other let a compile that started half-way through make
// one path look slow). Blocks, not single calls: back-to-back calls keep a path's
// threads and caches warm, as in a busy service and as the one-path-at-a-time runs did.
constexpr int kBlock = 50;

void measure_latency(std::vector<Path>& paths, int calls) {
  for (Path& p : paths)
    for (int i = 0; i < 100; ++i) p.call();  // warm-up
  for (int done = 0; done < calls; done += kBlock) {
    for (Path& p : paths) {
      for (int i = 0; i < kBlock && done + i < calls; ++i) {
        long cs0 = context_switches();
        auto t0 = Clock::now();
        if (!p.call()) std::fprintf(stderr, "%s: a call failed\n", p.name);
        auto t1 = Clock::now();
        p.switches += context_switches() - cs0;
        p.us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    }
  }
}

Numbers summarize(Path& p) {
  std::sort(p.us.begin(), p.us.end());
  Numbers n;
  n.p50_us = p.us[p.us.size() / 2];
  n.p99_us = p.us[p.us.size() * 99 / 100];
  n.switches_per_call = static_cast<double>(p.switches) / static_cast<double>(p.us.size());
  return n;
}

// Calls/s with 32 concurrent callers; one path at a time.
double throughput(const CallFn& call, int seconds) {
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
  return done.load() / std::chrono::duration<double>(Clock::now() - t0).count();
}

bool bus_echo(oaio::Bus& bus) {
  auto r = bus.invoke_payload("everything.echo", R"({"message":"hi"})");
  return r.ok() && oaio::reply_status(r.value()).ok();
}

std::string manifest() {
  return "bridges:\n  - name: everything\n    plugin: mcp\n    config:\n      command: \"" +
         oaio::mcp::test::everything_bin() + "\"\n      args: [stdio]\n";
}

void print(const char* name, const Numbers& n, const Numbers* base, const Numbers* raw = nullptr) {
  std::printf("%-8s p50 %8.1f us  p99 %8.1f us  %5.1f cs/call  %9.0f calls/s (32 callers)", name, n.p50_us, n.p99_us,
              n.switches_per_call, n.calls_per_s);
  if (base != nullptr) std::printf("  added p50 %+8.1f us", n.p50_us - base->p50_us);
  if (raw != nullptr) std::printf("  (%+.1f us over nats-raw)", n.p50_us - raw->p50_us);
  std::printf("\n");
}

// A raw nats.c connection with the latency setting our transport uses.
natsConnection* raw_connect(const std::string& url) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetSendAsap(opts, true);
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  return s == NATS_OK ? nc : nullptr;
}

bool raw_request(natsConnection* nc, const char* subject) {
  static const std::string kPayload = R"({"message":"hi"})";
  natsMsg* reply = nullptr;
  if (natsConnection_Request(&reply, nc, subject, kPayload.data(), static_cast<int>(kPayload.size()), 5000) != NATS_OK)
    return false;
  natsMsg_Destroy(reply);
  return true;
}

void raw_echo(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
}

// The nats-raw responder: each request becomes a tools/call on `closure` (an
// mcp::Client); the reply is published from the client's reader thread, as the bridge does.
void raw_mcp_proxy(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  auto* client = static_cast<oaio::mcp::Client*>(closure);
  oaio::mcp::Client::CallRequest r;
  r.tool = "echo";
  r.arguments = oaio::mcp::Json::parse(std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
  r.on_done = [nc, msg](oaio::mcp::Client::Outcome o) {
    std::string out = o.result ? o.result->dump() : "{}";
    natsConnection_Publish(nc, natsMsg_GetReply(msg), out.data(), static_cast<int>(out.size()));
    natsMsg_Destroy(msg);
  };
  if (std::holds_alternative<oaio::mcp::CallError>(client->call_tool(std::move(r)))) natsMsg_Destroy(msg);
}

}  // namespace

int main(int argc, char** argv) {
  int calls = argc > 1 ? std::atoi(argv[1]) : 2000;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  std::string paths = argc > 3 ? argv[3] : "inproc,nats";
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
  std::vector<Path> run;
  run.push_back({"direct", [&] {
                   auto p = std::make_shared<std::promise<bool>>();
                   mcp::Client::CallRequest r;
                   r.tool = "echo";
                   r.arguments = {{"message", "hi"}};
                   r.on_done = [p](mcp::Client::Outcome o) { p->set_value(o.result.has_value()); };
                   auto sent = direct.call_tool(std::move(r));
                   if (std::holds_alternative<mcp::CallError>(sent)) return false;
                   return p->get_future().get();
                 }});

  std::optional<test::HostDir> inproc_dir;
  std::unique_ptr<host::HostApp> inproc;
  if (paths.find("inproc") != std::string::npos) {
    inproc_dir.emplace();
    inproc_dir->add_plugin(test::built_plugin("mcp"));
    inproc_dir->add_manifest("mcp.yaml", manifest());
    inproc = test::start_host(inproc_dir->options(), std::chrono::seconds(30));
    if (!inproc) return 1;
    run.push_back({"inproc", [&] { return bus_echo(inproc->connection().default_bus()); }});
  }

  std::optional<test::NatsServer> nats;
  natsConnection* responder = nullptr;
  natsConnection* requester = nullptr;
  natsSubscription* hop_sub = nullptr;
  natsSubscription* proxy_sub = nullptr;
  std::optional<test::HostDir> nats_dir;
  std::unique_ptr<host::HostApp> nats_host;
  std::unique_ptr<Bus> nats_client;
  if (paths.find("nats") != std::string::npos) {
    nats.emplace();
    if (!nats->start()) return 1;
    responder = raw_connect(nats->url());
    requester = raw_connect(nats->url());
    if (responder == nullptr || requester == nullptr) return 1;
    natsConnection_Subscribe(&hop_sub, responder, "bench.hop", raw_echo, nullptr);
    natsConnection_Subscribe(&proxy_sub, responder, "bench.proxy", raw_mcp_proxy, &direct);
    natsConnection_Flush(responder);
    nats_dir.emplace();
    nats_dir->add_plugin(test::built_plugin("mcp"));
    nats_dir->add_manifest("mcp.yaml", manifest());
    nats_host = test::start_host(nats_dir->options(nats->url()), std::chrono::seconds(30));
    if (!nats_host) return 1;
    NatsOptions o;
    o.servers = {nats->url()};
    nats_client = test::open_bus(connect_nats(o).value(), test::bus_options("bench-client"));
    run.push_back({"nats-hop", [&] { return raw_request(requester, "bench.hop"); }});
    run.push_back({"nats-raw", [&] { return raw_request(requester, "bench.proxy"); }});
    run.push_back({"nats", [&] { return bus_echo(*nats_client); }});
  }

  measure_latency(run, calls);
  std::vector<Numbers> numbers;
  for (Path& p : run) {
    numbers.push_back(summarize(p));
    numbers.back().calls_per_s = throughput(p.call, seconds);
  }
  const Numbers* raw = nullptr;
  for (std::size_t i = 0; i < run.size(); ++i)
    if (std::string(run[i].name) == "nats-raw") raw = &numbers[i];
  for (std::size_t i = 0; i < run.size(); ++i) {
    std::string name = run[i].name;
    const Numbers* base = name == "direct" || name == "nats-hop" ? nullptr : &numbers[0];
    print(run[i].name, numbers[i], base, name == "nats" ? raw : nullptr);
  }

  nats_client.reset();
  nats_host.reset();
  if (hop_sub != nullptr) {
    natsSubscription_Unsubscribe(hop_sub);
    natsSubscription_Unsubscribe(proxy_sub);
    natsSubscription_Destroy(hop_sub);
    natsSubscription_Destroy(proxy_sub);
    natsConnection_Destroy(requester);
    natsConnection_Destroy(responder);
  }
  return 0;
}
