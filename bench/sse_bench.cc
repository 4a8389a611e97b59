// sse_bench: what the SSE bridge (bridges/sse) adds to reading an OpenAI-compatible
// streaming endpoint directly with libcurl. Both sides talk to the SAME local server
// in the same run: tests/bridges/sse/python/sse_server.py (Python standard library) on
// a free loopback port. "Through the host" means an in-process host (HostApp) with
// <build>/plugins/sse.so and one endpoint, called with bus.stream_invoke on its bus.
//   - First-delta latency: a short stream ("hello", two deltas), from the call to the
//     first content delta. Direct: one libcurl easy handle POSTing /chat/completions
//     (kept between requests, so its connection is reused as the bridge's is). Host:
//     stream_invoke until the first agent.response.delta. Requests alternate between
//     the two. Target: <= 1 ms added at p50.
//   - Deltas/s: one long stream (the server's burst:N, written as fast as the socket
//     takes it, so the server is not the limit), from the first delta to the last.
//     Two direct baselines: counting `data:` content lines in the bytes curl hands
//     over (the rawest possible reader), and the same plus decoding each chunk's JSON
//     with nlohmann::json (the least a client must do to use a piece). Host: delta
//     frames arriving at an async stream callback. Target: >= 50,000 deltas/s
//     through the host.
//   - Memory: the process's RSS (VmRSS) before and while 1,000 streams are open at
//     once (the server's tick:S, a delta a second), each counted open after its first
//     delta. Direct: 1,000 easy handles on one libcurl multi handle in this process.
//     Host: 1,000 stream_invoke_async calls. malloc_trim runs before each "before".
// Usage: sse_bench [--quick] (--quick: 200 latency samples and 3 long streams per side
// instead of 1,000 and 9). Run through scripts/bench.sh. Needs python3.
#include <curl/curl.h>
#include <malloc.h>
#include <sys/resource.h>

#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_util.h"
#include "bridges/sse/sse_servers.h"
#include "oaio/bus.h"
#include "support/host_fixture.h"

using namespace oaio;
using namespace oaio::bench;
using namespace std::chrono_literals;

namespace {

int g_requests = 1000;   // latency samples per side (a tenth more run first as warm-up)
int g_burst = 20000;     // deltas in the long stream
int g_burst_runs = 9;    // long streams per side; the median rate is reported
int g_streams = 1000;    // concurrent streams for the memory figure
const char* kTarget = "bench.chat";
const char* kApiKey = "sk-bench-0123456789";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sse_bench: %s\n", what.c_str());
  std::exit(1);
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
  getrlimit(RLIMIT_NOFILE, &r);
  // One socket per open stream (direct and host streams are not open at the same time).
  if (r.rlim_cur < static_cast<rlim_t>(g_streams) + 256)
    die("RLIMIT_NOFILE is " + std::to_string(r.rlim_cur) + ", too low for " + std::to_string(g_streams) + " streams");
}

std::string chat_body(const std::string& text) {
  return nlohmann::json{{"model", "bench-model"},
                        {"messages", {{{"role", "user"}, {"content", text}}}},
                        {"stream", true},
                        {"stream_options", {{"include_usage", true}}}}
      .dump();
}

// One chat stream read with a plain libcurl easy handle. Splits the bytes into lines
// and counts `data:` lines that carry a content piece; notes when the first and the
// last of them arrived. Not thread-safe; one transfer at a time per instance (the
// multi-handle use in measure_memory gives each its own).
class DirectStream {
 public:
  explicit DirectStream(const std::string& url) : easy_(curl_easy_init()) {
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, (std::string("Authorization: Bearer ") + kApiKey).c_str());
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &DirectStream::on_data);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  }
  ~DirectStream() {
    curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
  }
  DirectStream(const DirectStream&) = delete;
  DirectStream& operator=(const DirectStream&) = delete;

  // Sets the request up for the next transfer (perform() or a multi handle runs it).
  void prepare(const std::string& text) {
    body_ = chat_body(text);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.c_str());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_.size()));
    line_.clear();
    deltas = 0;
    start = Clock::now();
  }
  void perform() {
    CURLcode rc = curl_easy_perform(easy_);
    if (rc != CURLE_OK) die(std::string("direct stream: ") + curl_easy_strerror(rc));
    if (deltas == 0) die("direct stream without a content delta");
  }
  CURL* easy() { return easy_; }

  bool parse_json = false;  // also decode each chunk's JSON (set before prepare())
  int deltas = 0;
  Clock::time_point start, first_delta, last_delta;

 private:
  static size_t on_data(char* data, size_t size, size_t n, void* self) {
    static_cast<DirectStream*>(self)->scan(data, size * n);
    return size * n;
  }
  void scan(const char* data, size_t len) {
    const char* end = data + len;
    while (data < end) {
      const char* nl = static_cast<const char*>(std::memchr(data, '\n', static_cast<size_t>(end - data)));
      if (!nl) {
        line_.append(data, end);
        return;
      }
      if (line_.empty()) {
        on_line(data, static_cast<size_t>(nl - data));
      } else {
        line_.append(data, nl);
        on_line(line_.data(), line_.size());
        line_.clear();
      }
      data = nl + 1;
    }
  }
  void on_line(const char* line, size_t len) {
    std::string_view l(line, len);
    if (l.rfind("data:", 0) != 0 || l.find("\"content\"") == std::string_view::npos) return;
    if (parse_json) {  // what a client must do to use the piece: decode the chunk
      auto chunk = nlohmann::json::parse(l.substr(5), nullptr, false);
      if (chunk.is_discarded() || chunk["choices"][0]["delta"]["content"].get<std::string>().empty()) return;
    }
    last_delta = Clock::now();
    if (deltas++ == 0) first_delta = last_delta;
  }

  CURL* easy_;
  curl_slist* headers_ = nullptr;
  std::string body_;
  std::string line_;  // a line split across two reads
};

Envelope chat_request(const std::string& text) {
  Envelope e;
  e.payload = nlohmann::json{{"text", text}}.dump();
  return e;
}

// ---- 1. first-delta latency --------------------------------------------------------

Clock::duration host_first_delta(Bus& bus) {
  auto t0 = Clock::now();
  auto s = bus.stream_invoke(kTarget, chat_request("hello"), CallOptions{.timeout = 30s});
  if (!s.ok()) die("stream: " + s.status().to_string());
  Clock::duration first{};
  bool seen = false;
  while (true) {
    auto f = s.value()->next();
    if (!f.ok()) die("stream: " + f.status().to_string());
    if (!f.value()) break;
    if (!seen && f.value()->event_type == "agent.response.delta") {
      first = Clock::now() - t0;
      seen = true;
    }
    if (f.value()->event_type == "agent.response.error") die("stream error: " + f.value()->payload);
  }
  if (!seen) die("host stream without a delta");
  return first;
}

void measure_latency(Bus& bus, const std::string& url) {
  DirectStream direct(url);
  Latencies host_lat, direct_lat;
  for (int i = 0; i < g_requests + g_requests / 10; ++i) {
    direct.prepare("hello");
    direct.perform();
    auto host = host_first_delta(bus);
    if (i < g_requests / 10) continue;  // warm-up
    direct_lat.add(direct.first_delta - direct.start);
    host_lat.add(host);
  }
  double p50 = host_lat.percentile(50), d50 = direct_lat.percentile(50);
  print_rows("First-delta latency: through the host vs libcurl directly (same server)",
             {{"first delta p50", p50, d50, "us", true, ""},
              {"first delta p90", host_lat.percentile(90), direct_lat.percentile(90), "us", true, ""},
              {"first delta p99", host_lat.percentile(99), direct_lat.percentile(99), "us", true, ""}});
  std::printf("%-46s %12.0f us  (target <= 1000 us)\n", "added first-delta latency p50", p50 - d50);
}

// ---- 2. deltas per second ----------------------------------------------------------

double direct_rate(const std::string& url, bool parse_json) {
  DirectStream direct(url);
  direct.parse_json = parse_json;
  direct.prepare("burst:" + std::to_string(g_burst));
  direct.perform();
  if (direct.deltas != g_burst) die("direct burst got " + std::to_string(direct.deltas) + " deltas");
  return (direct.deltas - 1) / std::chrono::duration<double>(direct.last_delta - direct.first_delta).count();
}

double host_rate(Bus& bus) {
  std::mutex mu;
  std::condition_variable cv;
  bool ended = false;
  Status end_status;
  int deltas = 0;  // written by the bus's delivery thread only
  Clock::time_point first, last;
  CancelFn cancel = bus.stream_invoke_async(
      kTarget, chat_request("burst:" + std::to_string(g_burst)), CallOptions{.timeout = 60s},
      [&](const Envelope& f) {
        if (f.event_type == "agent.response.delta") {
          last = Clock::now();
          if (deltas++ == 0) first = last;
        }
        return true;
      },
      [&](const Status& s) {
        std::lock_guard<std::mutex> lock(mu);
        ended = true;
        end_status = s;
        cv.notify_all();
      });
  std::unique_lock<std::mutex> lock(mu);
  if (!cv.wait_for(lock, 70s, [&] { return ended; })) die("host burst did not end");
  if (!end_status.ok()) die("host burst: " + end_status.to_string());
  if (deltas != g_burst) die("host burst got " + std::to_string(deltas) + " deltas");
  return (deltas - 1) / std::chrono::duration<double>(last - first).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void measure_rate(Bus& bus, const std::string& url) {
  std::vector<double> host, direct, decoded;
  direct_rate(url, false);  // warm-up: the server builds the burst body once
  for (int i = 0; i < g_burst_runs; ++i) {
    direct.push_back(direct_rate(url, false));
    decoded.push_back(direct_rate(url, true));
    host.push_back(host_rate(bus));
  }
  print_rows("Deltas/s, one " + std::to_string(g_burst) + "-delta stream (median of " + std::to_string(g_burst_runs) +
                 "): through the host vs libcurl directly",
             {{"deltas/s vs curl counting data lines", median(host) / 1000, median(direct) / 1000, "k/s", false,
               ">= 50 k/s"},
              {"deltas/s vs curl + JSON decode of each chunk", median(host) / 1000, median(decoded) / 1000, "k/s",
               false, ""}});
}

// ---- 3. memory with many open streams ---------------------------------------------

struct MemoryFigure {
  double open_seconds = 0;  // until every stream had its first delta
  long grew_kib = 0;
};

// The stream text: a delta a second, long enough to still be running when measured.
std::string hold_text() { return "tick:60"; }

MemoryFigure direct_memory(const std::string& url) {
  malloc_trim(0);
  long before = rss_kib();
  auto t0 = Clock::now();
  CURLM* multi = curl_multi_init();
  std::vector<std::unique_ptr<DirectStream>> streams;
  for (int i = 0; i < g_streams; ++i) {
    streams.push_back(std::make_unique<DirectStream>(url));
    streams.back()->prepare(hold_text());
    curl_multi_add_handle(multi, streams.back()->easy());
  }
  auto all_open = [&] {
    for (const auto& s : streams)
      if (s->deltas == 0) return false;
    return true;
  };
  int running = 0;
  while (!all_open()) {
    if (Clock::now() - t0 > 60s) die("direct: not every stream opened within 60 s");
    curl_multi_perform(multi, &running);
    if (running == 0 && !all_open()) die("direct: transfers ended before every stream opened");
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  MemoryFigure out{std::chrono::duration<double>(Clock::now() - t0).count(), rss_kib() - before};
  for (auto& s : streams) curl_multi_remove_handle(multi, s->easy());
  streams.clear();
  curl_multi_cleanup(multi);
  return out;
}

MemoryFigure host_memory(Bus& bus) {
  malloc_trim(0);
  long before = rss_kib();
  auto t0 = Clock::now();
  std::mutex mu;
  std::condition_variable cv;
  int open = 0, ended = 0;
  std::vector<char> seen(static_cast<size_t>(g_streams), 0);
  std::vector<CancelFn> cancels;
  cancels.reserve(static_cast<size_t>(g_streams));
  for (int i = 0; i < g_streams; ++i) {
    cancels.push_back(bus.stream_invoke_async(
        kTarget, chat_request(hold_text()), CallOptions{.timeout = 120s},
        [&, i](const Envelope& f) {
          if (f.event_type != "agent.response.delta") return true;
          std::lock_guard<std::mutex> lock(mu);
          if (!seen[static_cast<size_t>(i)]) {
            seen[static_cast<size_t>(i)] = 1;
            ++open;
            cv.notify_all();
          }
          return true;
        },
        [&](const Status&) {
          std::lock_guard<std::mutex> lock(mu);
          ++ended;
          cv.notify_all();
        }));
  }
  MemoryFigure out;
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, 60s, [&] { return open == g_streams || ended > 0; }))
      die("host: " + std::to_string(open) + " of " + std::to_string(g_streams) + " streams opened within 60 s");
    if (ended > 0) die("host: a stream ended before every stream opened");
    out = {std::chrono::duration<double>(Clock::now() - t0).count(), rss_kib() - before};
  }
  for (auto& c : cancels) c("benchmark done");
  std::unique_lock<std::mutex> lock(mu);
  if (!cv.wait_for(lock, 30s, [&] { return ended == g_streams; })) die("host: cancelled streams did not all end");
  return out;
}

void measure_memory(Bus& bus, const std::string& url) {
  MemoryFigure direct = direct_memory(url);
  std::this_thread::sleep_for(2s);  // the server's threads for those streams notice and end
  MemoryFigure host = host_memory(bus);
  std::string n = std::to_string(g_streams);
  print_rows("Memory: " + n + " concurrent open streams, RSS growth of this process: host vs libcurl multi",
             {{"RSS growth (MiB)", host.grew_kib / 1024.0, direct.grew_kib / 1024.0, "MiB", true, ""},
              {"RSS per stream (KiB)", static_cast<double>(host.grew_kib) / g_streams,
               static_cast<double>(direct.grew_kib) / g_streams, "KiB", true, ""},
              {"time until all " + n + " open (s)", host.open_seconds, direct.open_seconds, "s", true, ""}});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--quick") == 0) {
    g_requests = 200;
    g_burst_runs = 3;
  }
  raise_fd_limit();  // before the server starts: it inherits the limit
  curl_global_init(CURL_GLOBAL_DEFAULT);

  test::PySseServer server;
  if (auto started = server.start(); !started) die(started.message());
  const std::string url = server.base_url() + "/chat/completions";

  test::HostDir dir;
  dir.add_plugin(test::built_plugin("sse"));
  dir.add_manifest("sse.yaml", "bridges:\n  - name: bench\n    plugin: sse\n    config: {\"endpoints\": [{\"target\": \"" +
                                   std::string(kTarget) + "\", \"base_url\": \"" + server.base_url() +
                                   "\", \"api_key\": \"" + kApiKey +
                                   "\", \"model\": \"bench-model\", \"retries\": 0, \"idle_timeout\": 120}]}\n");
  host::HostOptions options = dir.options();
  options.logger = std::make_shared<host::HostLogger>(host::LogFormat::kText, LogLevel::kError);
  auto app = test::start_host(std::move(options));
  if (!app) die("the host did not start");
  Bus& bus = app->connection().default_bus();

  measure_latency(bus, url);
  measure_rate(bus, url);
  measure_memory(bus, url);
  app->shutdown();
  curl_global_cleanup();
  return 0;
}
