// bus_bench: the runtime core against raw nats.c doing the same work, in one run, on
// one nats-server started on a free loopback port (256-byte payloads):
//   - Invoke latency p50/p99 vs nats.c request/reply (handler on the executor, inline,
//     and with the shared reply inbox; all four paths interleaved in blocks of 50 calls)
//   - Invoke throughput with 32 concurrent callers vs nats.c requests from 32 threads
//   - StreamInvoke deltas/s vs raw nats.c messages/s to one subscriber
//   - Publish -> Subscribe msg/s vs raw nats.c publish -> subscribe
//   - in-process Invoke latency (no baseline: the target is absolute, <= 3 us p50)
// Usage: bus_bench [--quick]. Run through scripts/bench.sh.
#include <nats/nats.h>

#include <atomic>
#include <functional>
#include <cstring>
#include <thread>

#include "bench_util.h"
#include "oaio/bus.h"
#include "oaio/inmem_transport.h"
#include "oaio/nats_transport.h"
#include "support/nats_server.h"

using namespace oaio;
using namespace oaio::bench;

namespace {

int g_iterations = 20000;
double g_seconds = 3.0;
int g_messages = 200000;
const std::string kPayload = "\"" + std::string(254, 'x') + "\"";  // 256 bytes of JSON

natsConnection* raw_connect(const std::string& url) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetSendAsap(opts, true);  // the same latency setting as our transport
  natsConnection* nc = nullptr;
  if (natsConnection_Connect(&nc, opts) != NATS_OK) {
    std::fprintf(stderr, "raw connect failed\n");
    std::exit(1);
  }
  natsOptions_Destroy(opts);
  return nc;
}

std::unique_ptr<Bus> open_nats_bus(const std::string& url, const std::string& id, bool shared_reply_inbox = false,
                                   std::size_t max_queue = 0) {
  NatsOptions o;
  o.servers = {url};
  o.shared_reply_inbox = shared_reply_inbox;
  auto t = connect_nats(o);
  if (!t.ok()) {
    std::fprintf(stderr, "connect: %s\n", t.status().to_string().c_str());
    std::exit(1);
  }
  BusOptions bo;
  bo.agent_id = id;
  if (max_queue != 0) bo.max_queue = max_queue;
  return std::move(Bus::open(t.value(), bo)).value();
}

void raw_echo(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
}

double raw_request_throughput(const std::string& url, int callers) {
  natsConnection* srv = raw_connect(url);
  natsConnection* cli = raw_connect(url);
  natsSubscription* sub = nullptr;
  natsConnection_Subscribe(&sub, srv, "bench.raw.tput", raw_echo, nullptr);
  natsConnection_Flush(srv);
  std::atomic<long> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&] {
      while (!stop) {
        natsMsg* reply = nullptr;
        if (natsConnection_Request(&reply, cli, "bench.raw.tput", kPayload.data(), static_cast<int>(kPayload.size()),
                                   5000) == NATS_OK) {
          natsMsg_Destroy(reply);
          ++done;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(g_seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(cli);
  natsConnection_Destroy(srv);
  return static_cast<double>(done.load()) / secs;
}

void raw_count(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  ++*static_cast<std::atomic<long>*>(closure);
  natsMsg_Destroy(msg);
}

double raw_pubsub_rate(const std::string& url) {
  natsConnection* pub = raw_connect(url);
  natsConnection* subc = raw_connect(url);
  std::atomic<long> got{0};
  natsSubscription* sub = nullptr;
  natsConnection_Subscribe(&sub, subc, "bench.raw.events", raw_count, &got);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(subc);
  auto start = Clock::now();
  for (int i = 0; i < g_messages; ++i) {
    natsConnection_Publish(pub, "bench.raw.events", kPayload.data(), static_cast<int>(kPayload.size()));
  }
  natsConnection_Flush(pub);
  while (got.load() < g_messages && Clock::now() - start < std::chrono::seconds(60)) std::this_thread::yield();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(subc);
  natsConnection_Destroy(pub);
  return static_cast<double>(got.load()) / secs;
}

Handler echo() {
  return sync_invoke([](Call& c) -> Result<Envelope> { return result_payload(c.request().payload); });
}

std::function<void()> raw_request(natsConnection* cli, const char* subject) {
  return [cli, subject] {
    natsMsg* reply = nullptr;
    if (natsConnection_Request(&reply, cli, subject, kPayload.data(), static_cast<int>(kPayload.size()), 5000) !=
        NATS_OK) {
      std::fprintf(stderr, "raw request failed\n");
      std::exit(1);
    }
    natsMsg_Destroy(reply);
  };
}

std::function<void()> bus_invoke(Bus& client, std::string target) {
  return [&client, target] {
    auto r = client.invoke_payload(target, kPayload);
    if (!r.ok()) {
      std::fprintf(stderr, "invoke failed: %s\n", r.status().to_string().c_str());
      std::exit(1);
    }
  };
}

double bus_invoke_latency(Bus& server, Bus& client, Latencies& lat, const HandlerOptions& ho, const char* target) {
  auto sub = server.handle_invoke(target, echo(), ho);
  (void)server.transport().flush(std::chrono::seconds(5));  // the subscription reaches the server first
  std::vector<LatencyPath> paths;
  paths.push_back({target, bus_invoke(client, target), {}});
  measure_interleaved(paths, g_iterations);
  lat = std::move(paths[0].lat);
  return lat.percentile(50);
}

double bus_invoke_throughput(Bus& server, Bus& client, int callers) {
  auto sub = server.handle_invoke("bench.tput", echo());
  (void)server.transport().flush(std::chrono::seconds(5));
  std::atomic<long> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&] {
      while (!stop) {
        if (client.invoke_payload("bench.tput", kPayload).ok()) ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(g_seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return static_cast<double>(done.load()) / std::chrono::duration<double>(Clock::now() - start).count();
}

double bus_stream_rate(Bus& server, Bus& client) {
  const std::string delta = "{\"delta\":" + kPayload + "}";
  auto sub = server.handle_stream("bench.stream", sync_stream([&](Call&, StreamWriter& w) -> Status {
                                    for (int i = 0; i < g_messages; ++i) OAIO_RETURN_IF_ERROR(w.delta(delta));
                                    return Status();
                                  }));
  (void)server.transport().flush(std::chrono::seconds(5));
  std::atomic<long> frames{0};
  std::atomic<bool> ended{false};
  CallOptions co;
  co.timeout = std::chrono::seconds(120);
  auto start = Clock::now();
  client.stream_invoke_async(
      "bench.stream", Envelope{}, co,
      [&](const Envelope&) {
        ++frames;
        return true;
      },
      [&](const Status& s) {
        if (!s.ok()) std::fprintf(stderr, "stream ended: %s\n", s.to_string().c_str());
        ended = true;
      });
  while (!ended) std::this_thread::sleep_for(std::chrono::microseconds(200));
  return static_cast<double>(frames.load()) / std::chrono::duration<double>(Clock::now() - start).count();
}

double bus_pubsub_rate(Bus& publisher, Bus& subscriber, bool run_inline) {
  std::atomic<long> got{0};
  SubscribeOptions so;
  so.run_inline = run_inline;
  auto sub = subscriber.subscribe(run_inline ? "bench.events.inline" : "bench.events", [&](const Envelope&) { ++got; }, so);
  (void)subscriber.transport().flush(std::chrono::seconds(5));
  Envelope e;
  e.event_type = run_inline ? "bench.events.inline" : "bench.events";
  e.payload = kPayload;
  // Events the subscriber's queue had no room for are dropped and counted (a flood
  // beyond max_queue on a loaded machine): they end the wait too, and are reported.
  const std::uint64_t dropped_before = subscriber.stats().frames_dropped;
  auto dropped = [&] { return static_cast<long>(subscriber.stats().frames_dropped - dropped_before); };
  auto start = Clock::now();
  for (int i = 0; i < g_messages; ++i) (void)publisher.publish(e);
  (void)publisher.transport().flush(std::chrono::seconds(30));
  while (got.load() + dropped() < g_messages && Clock::now() - start < std::chrono::seconds(60)) std::this_thread::yield();
  if (got.load() < g_messages) {
    std::fprintf(stderr, "pub->sub%s: %ld of %d events handled, %ld dropped by the subscriber's full queue\n",
                 run_inline ? " (inline)" : "", got.load(), g_messages, dropped());
  }
  return static_cast<double>(got.load()) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--quick") == 0) {
    g_iterations = 3000;
    g_seconds = 1.0;
    g_messages = 30000;
  }
  oaio::test::NatsServer server;
  if (!server.start()) {
    std::fprintf(stderr, "cannot start nats-server\n");
    return 1;
  }
  const std::string url = server.url();
  std::printf("bus_bench: nats-server %s, 256-byte payloads, %d invokes, %.0f s throughput runs, %d messages\n",
              url.c_str(), g_iterations, g_seconds, g_messages);

  auto srv = open_nats_bus(url, "bench-server");
  auto cli = open_nats_bus(url, "bench-client");
  auto shared_cli = open_nats_bus(url, "bench-client-shared", /*shared_reply_inbox=*/true);
  HandlerOptions inline_opts;
  inline_opts.run_inline = true;
  natsConnection* raw_srv = raw_connect(url);
  natsConnection* raw_cli = raw_connect(url);
  natsSubscription* raw_sub = nullptr;
  natsConnection_Subscribe(&raw_sub, raw_srv, "bench.raw.echo", raw_echo, nullptr);
  natsConnection_Flush(raw_srv);
  auto exec_sub = srv->handle_invoke("bench.echo", echo());
  auto inline_sub = srv->handle_invoke("bench.echo.inline", echo(), inline_opts);
  (void)srv->transport().flush(std::chrono::seconds(5));
  std::vector<LatencyPath> paths;
  paths.push_back({"raw", raw_request(raw_cli, "bench.raw.echo"), {}});
  paths.push_back({"executor", bus_invoke(*cli, "bench.echo"), {}});
  paths.push_back({"inline", bus_invoke(*cli, "bench.echo.inline"), {}});
  paths.push_back({"shared", bus_invoke(*shared_cli, "bench.echo"), {}});
  measure_interleaved(paths, g_iterations);
  natsSubscription_Destroy(raw_sub);
  natsConnection_Destroy(raw_cli);
  natsConnection_Destroy(raw_srv);
  Latencies& raw_lat = paths[0].lat;
  Latencies& bus_lat = paths[1].lat;
  Latencies& bus_inline_lat = paths[2].lat;
  const double raw_p50 = raw_lat.percentile(50), bus_p50 = bus_lat.percentile(50),
               bus_inline_p50 = bus_inline_lat.percentile(50), shared_p50 = paths[3].lat.percentile(50);
  double raw_tput = raw_request_throughput(url, 32);
  double bus_tput = bus_invoke_throughput(*srv, *cli, 32);
  // The same with NatsOptions::shared_reply_inbox on the client (one PUB per call).
  double shared_tput = bus_invoke_throughput(*srv, *shared_cli, 32);
  shared_cli.reset();
  double raw_rate = raw_pubsub_rate(url);
  double bus_stream = bus_stream_rate(*srv, *cli);
  // The raw subscriber has no pending limit; ours gets a queue longer than the run, so
  // neither side drops and both rates count every message (the default max_queue of
  // 4,096 drops events under a flood like this one, by design).
  auto subscriber = open_nats_bus(url, "bench-subscriber", false, static_cast<std::size_t>(g_messages) + 1);
  double bus_pubsub = bus_pubsub_rate(*cli, *subscriber, false);
  double bus_pubsub_inline = bus_pubsub_rate(*cli, *subscriber, true);

  print_rows("Invoke over NATS (baseline: raw nats.c request/reply, same server)",
             {{"invoke p50 (executor handler)", bus_p50, raw_p50, "us", true, "<= 1.15x"},
              {"invoke p99 (executor handler)", bus_lat.percentile(99), raw_lat.percentile(99), "us", true, ""},
              {"invoke p50 (inline handler)", bus_inline_p50, raw_p50, "us", true, "<= 1.15x"},
              {"invoke p99 (inline handler)", bus_inline_lat.percentile(99), raw_lat.percentile(99), "us", true, ""},
              {"invoke throughput, 32 callers", bus_tput / 1000, raw_tput / 1000, "k/s", false, ""},
              {"invoke p50, shared reply inbox", shared_p50, raw_p50, "us", true, "<= 1.15x"},
              {"invoke throughput, 32 callers, shared inbox", shared_tput / 1000, raw_tput / 1000, "k/s", false, ""}});
  print_rows("Streams and events (baseline: raw nats.c publish -> subscribe)",
             {{"StreamInvoke deltas/s", bus_stream / 1000, raw_rate / 1000, "k/s", false, ""},
              {"publish -> subscribe msg/s (ordered, executor)", bus_pubsub / 1000, raw_rate / 1000, "k/s", false,
               ">= 0.7x"},
              {"publish -> subscribe msg/s (inline handler)", bus_pubsub_inline / 1000, raw_rate / 1000, "k/s", false,
               ">= 0.7x"}});

  // In-process: no network; the transport delivers on the caller's thread.
  auto mem = make_inmem_transport();
  BusOptions so, co;
  so.agent_id = "mem-server";
  co.agent_id = "mem-client";
  auto msrv = std::move(Bus::open(mem, so)).value();
  auto mcli = std::move(Bus::open(mem, co)).value();
  Latencies mem_inline, mem_exec;
  double mem_inline_p50 = bus_invoke_latency(*msrv, *mcli, mem_inline, inline_opts, "mem.echo.inline");
  double mem_exec_p50 = bus_invoke_latency(*msrv, *mcli, mem_exec, {}, "mem.echo");
  print_rows("In-process invoke (absolute target: p50 <= 3 us)",
             {{"in-process invoke p50 (inline handler)", mem_inline_p50, 3.0, "us", true, "<= 3 us"},
              {"in-process invoke p99 (inline handler)", mem_inline.percentile(99), 3.0, "us", true, ""},
              {"in-process invoke p50 (executor handler)", mem_exec_p50, 3.0, "us", true, ""}});
  std::printf("\nGo SDK baseline: not measured (github.com/ModulationAI/openagentio v0.3.0 is not served by the Go "
              "module proxy; see docs/performance.md)\n");
  return 0;
}
