// Gateway on cpp-httplib (with cli_http.cc, the only files that include it). Each request runs on one
// thread of the server's pool and waits there for the bus: Invoke on a condition
// variable, a stream inside the chunked content provider, which drives an SseRelay
// (sse_relay.h) fed by the bus's frame callbacks. Every wait is bounded by the request's
// timeout and wakes at least every 100 ms to notice stop() and, for streams, a client
// that went away. The protocol rules themselves are in gateway_wire.h.
//
// Auth: with a bearer token set, /metrics and every /v1/* route need it; /healthz and
// /readyz stay open for probes.
#include "gateway.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>

#include "catalog.h"
#include "gateway_wire.h"
#include "metrics.h"
#include "sse_relay.h"

namespace oaio::host {
namespace {

namespace wire = gateway_wire;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollSlice{100};    // longest a waiter goes without looking at stop/disconnect
constexpr milliseconds kGrace{2000};       // past the bus's own timeout before the gateway gives up
constexpr milliseconds kMinKeepAlive{250};
constexpr milliseconds kPublishWait{5000};  // WIRE.md §10: Publish waits at most min(5 s, timeout)
constexpr milliseconds kStopWait{2000};     // stop(): time for open streams to write their last frame
constexpr const char* kJson = "application/json";

// Routes: the pattern cpp-httplib matches and the label /metrics uses.
struct Route {
  const char* pattern;
  const char* label;
};
constexpr Route kInvoke{R"(/v1/agents/([^/]*)/invoke)", "/v1/agents/{target}/invoke"};
constexpr Route kStream{R"(/v1/agents/([^/]*)/stream)", "/v1/agents/{target}/stream"};
constexpr Route kPublish{R"(/v1/events/([^/]*))", "/v1/events/{event_type}"};
constexpr Route kHealth{"/healthz", "/healthz"};
constexpr Route kReady{"/readyz", "/readyz"};
constexpr Route kMetrics{"/metrics", "/metrics"};
constexpr Route kCatalog{"/v1/catalog", "/v1/catalog"};

std::string route_label(const std::string& path) {
  static const std::regex invoke(kInvoke.pattern), stream(kStream.pattern), publish(kPublish.pattern);
  for (const Route* r : {&kHealth, &kReady, &kMetrics, &kCatalog})
    if (path == r->pattern) return r->label;
  if (std::regex_match(path, invoke)) return kInvoke.label;
  if (std::regex_match(path, stream)) return kStream.label;
  if (std::regex_match(path, publish)) return kPublish.label;
  return "unmatched";
}

// WIRE.md §10 header -> field mapping; an empty header leaves the field unset.
void apply_headers(const httplib::Request& req, Envelope& env) {
  auto map = [&](const char* header, std::string& field) {
    std::string v = req.get_header_value(header);
    if (!v.empty()) field = std::move(v);
  };
  map("X-Trace-Id", env.trace_id);
  map("traceparent", env.traceparent);
  map("X-Traceparent", env.traceparent);  // wins over the standard header
  map("X-Tenant-Id", env.tenant_id);
  map("X-Session-Id", env.session_id);
  map("X-Conversation-Id", env.conversation_id);
  map("X-User-Id", env.user_id);
  map("X-Channel", env.channel);
}

// Per-call metric label: a name nobody answered (NO_HANDLER, refused name) is not kept,
// so random paths cannot grow /metrics without bound.
std::string target_label(const std::string& target, const Status& outcome, bool answered) {
  if (answered) return target;
  const ErrorCode c = outcome.code();
  return (c == ErrorCode::kNoHandler || c == ErrorCode::kInvalidRequest) ? "other" : target;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One Invoke waiting for its reply.
struct InvokeState {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<Envelope>> result;  // guarded by mu
};

// One SSE response (only its HTTP thread uses it).
struct StreamCtx {
  std::shared_ptr<SseRelay> relay;
  std::string target;
  httplib::Response* res = nullptr;
  Clock::time_point start;
  std::atomic<bool> released{false};
};

class GatewayImpl final : public Gateway {
 public:
  GatewayImpl(GatewayOptions options, GatewayDeps deps) : options_(std::move(options)), deps_(std::move(deps)) {
    timeout_ = options_.timeout.count() > 0 ? options_.timeout : milliseconds(30000);
    if (options_.heartbeat.count() > 0) keep_alive_ = std::max(options_.heartbeat, kMinKeepAlive);
  }
  ~GatewayImpl() override { stop(); }

  Status listen();
  std::uint16_t port() const override { return port_; }
  void stop() override;

 private:
  void install_routes();
  void handle_invoke(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void handle_stream(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void handle_publish(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  // Reads the body and applies the checks every POST route shares (shutdown, auth, size,
  // JSON). False when an error answer was written.
  bool admit(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
             std::string* body);
  // admit(), then the target from the path and the request envelope (headers applied),
  // checked against max_payload as the bus will send it. False when an error answer
  // was written.
  bool read_call(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 bool stream, std::string* target, Envelope* request);
  bool authorized(const httplib::Request& req, httplib::Response& res);
  // 413 (nothing is sent) when the encoded request exceeds the transport's max_payload.
  bool fits(httplib::Response& res, std::size_t wire_size);
  bool pump(StreamCtx& c, httplib::DataSink& sink);
  void release(StreamCtx& c);

  void send_error(httplib::Response& res, int status, const Status& error);
  void count(const char* name, const std::string& label_key, const std::string& label, double v = 1);

  GatewayOptions options_;
  GatewayDeps deps_;
  milliseconds timeout_;
  milliseconds keep_alive_{0};
  httplib::Server server_;
  std::thread listener_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable streams_cv_;
  int open_streams_ = 0;  // guarded by mu_
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

void GatewayImpl::count(const char* name, const std::string& label_key, const std::string& label, double v) {
  if (deps_.metrics) deps_.metrics->record(name, v, {{label_key, label}});
}

void GatewayImpl::send_error(httplib::Response& res, int status, const Status& error) {
  res.status = status;
  res.set_content(encode_error_payload(error), kJson);
  count("oaio_errors_total", "code", std::string(error.code_name()));
}

bool GatewayImpl::authorized(const httplib::Request& req, httplib::Response& res) {
  if (options_.bearer_token.empty()) return true;
  if (wire::bearer_matches(req.get_header_value("Authorization"), options_.bearer_token)) return true;
  res.set_header("WWW-Authenticate", "Bearer");
  send_error(res, 401, Status(ErrorCode::kAuthFailure, "unauthorized: missing or invalid bearer token", false));
  return false;
}

bool GatewayImpl::admit(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                        std::string* body) {
  // The body is always read (or drained by cpp-httplib) so the connection stays usable.
  bool too_large = false, read_ok = true;
  const bool chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
  if (req.has_header("Content-Length") || chunked) {  // otherwise there is no body (RFC 9112 §6.3)
    const std::size_t max = options_.max_body_bytes;
    std::size_t seen = 0;
    read_ok = reader([&](const char* data, std::size_t n) {
      seen += n;
      if (seen > max) {
        too_large = true;
        body->clear();
        return seen <= 2 * max + (1u << 20);  // drain a while, then drop the connection
      }
      body->append(data, n);
      return true;
    });
    if (res.status == 413) too_large = true;  // Content-Length over set_payload_max_length
  }
  if (stopping_) {
    send_error(res, 502, Status(ErrorCode::kAgentUnavailable, "gateway shutting down", false));
    return false;
  }
  if (!authorized(req, res)) return false;
  if (too_large) {
    send_error(res, 413,
               Status::invalid("request body exceeds the limit of " + std::to_string(options_.max_body_bytes) + " bytes"));
    return false;
  }
  if (!read_ok) {
    send_error(res, 400, Status::invalid("cannot read the request body"));
    return false;
  }
  if (!body->empty() && !is_valid_json(*body)) {
    send_error(res, 400, Status::invalid("request body is not valid JSON"));
    return false;
  }
  return true;
}

bool GatewayImpl::fits(httplib::Response& res, std::size_t wire_size) {
  const std::size_t max = deps_.bus->transport().capabilities().max_payload;
  if (max == 0 || wire_size <= max) return true;
  send_error(res, 413,
             Status::invalid("request envelope of " + std::to_string(wire_size) +
                             " bytes exceeds the transport's max_payload of " + std::to_string(max) + " bytes"));
  return false;
}

bool GatewayImpl::read_call(const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader, bool stream, std::string* target,
                            Envelope* request) {
  std::string body;
  if (!admit(req, res, reader, &body)) return false;
  *target = req.matches[1];
  if (target->empty()) {
    send_error(res, 400, Status::invalid("missing target"));
    return false;
  }
  *request = make_envelope(event_type::kMessageReceived, std::move(body));
  request->frame_type = std::string(canonical_frame_type(event_type::kMessageReceived));
  apply_headers(req, *request);
  const auto heartbeat = stream ? options_.heartbeat : std::chrono::milliseconds(0);
  return fits(res, wire::request_wire_size(*deps_.bus, *target, *request, stream, heartbeat));
}

// ---- Invoke ----

void GatewayImpl::handle_invoke(const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
  std::string target;
  Envelope request;
  if (!read_call(req, res, reader, /*stream=*/false, &target, &request)) return;

  auto st = std::make_shared<InvokeState>();
  const auto start = Clock::now();
  CallOptions co;
  co.timeout = timeout_;
  deps_.bus->invoke_async(target, std::move(request), co, [st](Result<Envelope> r) {
    {
      std::lock_guard lock(st->mu);
      st->result.emplace(std::move(r));
    }
    st->cv.notify_all();
  });

  const auto deadline = start + timeout_ + kGrace;
  std::optional<Result<Envelope>> result;
  {
    std::unique_lock lock(st->mu);
    while (!st->result && !stopping_ && Clock::now() < deadline)
      st->cv.wait_until(lock, std::min(deadline, Clock::now() + kPollSlice));
    result = std::move(st->result);
  }
  Status outcome;
  if (!result) {
    outcome = stopping_ ? Status(ErrorCode::kAgentUnavailable, "gateway shutting down", false)
                        : Status::timeout("gateway: no reply within " + std::to_string(timeout_.count()) + " ms");
  } else if (!result->ok()) {
    outcome = result->status();
  }
  const bool answered = result && result->ok();
  const std::string label = target_label(target, outcome, answered);
  count("oaio_messages_out_total", "target", label);
  if (deps_.metrics) deps_.metrics->record("oaio_request_duration_seconds", seconds_since(start), {{"target", label}});

  if (!answered) {
    if (!result && stopping_) return send_error(res, 502, outcome);
    wire::HttpError e = wire::map_bus_error(outcome);
    return send_error(res, e.status, e.error);
  }
  count("oaio_messages_in_total", "target", label);
  const Envelope& reply = result->value();
  if (reply.event_type == event_type::kResponseError) {
    wire::ErrorReply e = wire::error_reply(reply.payload);
    res.status = e.status;
    res.set_content(e.body, kJson);
    count("oaio_errors_total", "code", e.code);
    return;
  }
  if (!reply.has_payload()) {
    res.status = 204;
    return;
  }
  res.status = 200;
  res.set_content(reply.payload, kJson);
}

// ---- StreamInvoke as SSE ----

void GatewayImpl::handle_stream(const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
  std::string target;
  Envelope request;
  if (!read_call(req, res, reader, /*stream=*/true, &target, &request)) return;

  SseRelayOptions ro;
  ro.timeout = timeout_;
  ro.idle_timeout = options_.idle_timeout;
  ro.heartbeat = options_.heartbeat;
  ro.keep_alive = keep_alive_;
  ro.retry = options_.sse_retry;
  ro.on_error = [this](std::string_view code) { count("oaio_errors_total", "code", std::string(code)); };
  auto ctx = std::make_shared<StreamCtx>();
  ctx->target = target;
  ctx->res = &res;
  ctx->start = Clock::now();
  auto relay = SseRelay::start(*deps_.bus, target, std::move(request), std::move(ro));
  if (!relay.ok()) {
    // Failed before any frame: a plain HTTP status still fits.
    count("oaio_messages_out_total", "target", target_label(target, relay.status(), false));
    wire::HttpError e = wire::map_bus_error(relay.status());
    return send_error(res, e.status, e.error);
  }
  ctx->relay = std::move(relay).value();

  {
    std::lock_guard lock(mu_);
    ++open_streams_;
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  // WIRE.md §10 wants this header on SSE responses. cpp-httplib adds its own
  // "Connection: close" when it is about to close the connection, and clients read the
  // first header; so the server has no per-connection request budget (see listen()).
  if (req.get_header_value("Connection") != "close") res.set_header("Connection", "keep-alive");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream", [this, ctx](std::size_t, httplib::DataSink& sink) { return pump(*ctx, sink); },
      [this, ctx](bool) { release(*ctx); });
}

// Called by cpp-httplib until the stream is done (headers are out by then).
bool GatewayImpl::pump(StreamCtx& c, httplib::DataSink& sink) {
  SseSink s{[&sink](std::string_view bytes) { return sink.write(bytes.data(), bytes.size()); },
            [&sink] { return sink.is_writable(); }, [&sink] { sink.done(); }};
  if (c.relay->pump(s, stopping_) != SseRelay::Step::kClientGone) return true;
  c.res->status = 499;  // WIRE.md §10 "caller disconnected"; only the access metrics see it
  return false;
}

// The response is gone (from ~Response, on the HTTP thread): stop a bus stream nobody
// reads any more and record the call.
void GatewayImpl::release(StreamCtx& c) {
  if (c.released.exchange(true)) return;
  c.relay->abandon("http response closed");
  const std::uint64_t frames_in = c.relay->frames_in();
  const std::string label = target_label(c.target, c.relay->outcome(), frames_in > 0);
  count("oaio_messages_out_total", "target", label);
  if (frames_in > 0) count("oaio_messages_in_total", "target", label, static_cast<double>(frames_in));
  if (deps_.metrics) deps_.metrics->record("oaio_request_duration_seconds", seconds_since(c.start), {{"target", label}});
  {
    std::lock_guard lock(mu_);
    --open_streams_;
  }
  streams_cv_.notify_all();
}

// ---- Publish ----

void GatewayImpl::handle_publish(const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& reader) {
  std::string body;
  if (!admit(req, res, reader, &body)) return;
  const std::string type = req.matches[1];
  if (type.empty()) return send_error(res, 400, Status::invalid("missing event type"));
  Envelope event = make_envelope(type, std::move(body));  // no frame_type, no from (WIRE.md §6)
  apply_headers(req, event);
  auto bytes = encode_envelope(event);
  if (bytes.ok() && !fits(res, bytes.value().size())) return;

  Status s = deps_.bus->publish(std::move(event));
  if (s.ok()) {
    const milliseconds wait = std::min(kPublishWait, timeout_);
    const auto start = Clock::now();
    s = deps_.bus->transport().flush(wait);
    if (!s.ok() && Clock::now() - start >= wait) s = Status::timeout("publish not confirmed within " + std::to_string(wait.count()) + " ms");
  }
  if (!s.ok()) {
    wire::HttpError e = wire::map_bus_error(s);
    return send_error(res, e.status, e.error);
  }
  count("oaio_messages_out_total", "target", type);
  res.status = 202;
}

// ---- Setup ----

void GatewayImpl::install_routes() {
  using httplib::ContentReader;
  using httplib::Request;
  using httplib::Response;
  server_.Post(kInvoke.pattern, [this](const Request& q, Response& r, const ContentReader& c) { handle_invoke(q, r, c); });
  server_.Post(kStream.pattern, [this](const Request& q, Response& r, const ContentReader& c) { handle_stream(q, r, c); });
  server_.Post(kPublish.pattern, [this](const Request& q, Response& r, const ContentReader& c) { handle_publish(q, r, c); });

  server_.Get(kHealth.pattern, [](const Request&, Response& r) { r.set_content(R"({"status":"ok"})", kJson); });
  server_.Get(kReady.pattern, [this](const Request&, Response& r) {
    const bool ready = deps_.ready ? deps_.ready() : true;
    nlohmann::json body = deps_.status ? deps_.status() : nlohmann::json::object();
    r.status = ready ? 200 : 503;
    r.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
  });
  server_.Get(kMetrics.pattern, [this](const Request& q, Response& r) {
    if (!authorized(q, r)) return;
    r.set_content(deps_.metrics ? deps_.metrics->render() : std::string(), "text/plain; version=0.0.4");
  });
  server_.Get(kCatalog.pattern, [this](const Request& q, Response& r) {
    if (!authorized(q, r)) return;
    nlohmann::json body = deps_.catalog ? deps_.catalog->to_json() : nlohmann::json{{"targets", nlohmann::json::array()}};
    r.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
  });

  // Wrong methods on known paths: 405 with an Allow header and cpp-httplib's empty body.
  auto not_allowed = [](const char* allow) {
    return [allow](const Request&, Response& r) {
      r.status = 405;
      r.set_header("Allow", allow);
    };
  };
  for (const Route* r : {&kInvoke, &kStream, &kPublish}) {
    server_.Get(r->pattern, not_allowed("POST"));
    server_.Put(r->pattern, not_allowed("POST"));
    server_.Patch(r->pattern, not_allowed("POST"));
    server_.Delete(r->pattern, not_allowed("POST"));
  }
  for (const Route* r : {&kHealth, &kReady, &kMetrics, &kCatalog}) {
    server_.Post(r->pattern, not_allowed("GET, HEAD"));
    server_.Put(r->pattern, not_allowed("GET, HEAD"));
    server_.Patch(r->pattern, not_allowed("GET, HEAD"));
    server_.Delete(r->pattern, not_allowed("GET, HEAD"));
  }

  server_.set_exception_handler([this](const Request&, Response& r, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(r, 502, Status(ErrorCode::kAgentUnavailable, "gateway: " + what, false));
  });
  server_.set_logger([this](const Request& q, const Response& r) {
    if (deps_.metrics)
      deps_.metrics->record("oaio_http_requests_total", 1, {{"route", route_label(q.path)}, {"status", std::to_string(r.status)}});
  });
}

Status GatewayImpl::listen() {
  if (deps_.metrics) {
    deps_.metrics->define("oaio_http_requests_total", MetricKind::kCounter, "HTTP requests by route and status");
    deps_.metrics->define("oaio_messages_out_total", MetricKind::kCounter, "Requests and events sent to the bus");
    deps_.metrics->define("oaio_messages_in_total", MetricKind::kCounter, "Replies and stream frames received");
    deps_.metrics->define("oaio_errors_total", MetricKind::kCounter, "Errors returned to HTTP callers, by code");
    deps_.metrics->define("oaio_request_duration_seconds", MetricKind::kHistogram, "Invoke and stream call latency");
  }
  const std::size_t threads = std::max<std::size_t>(1, options_.threads);
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_payload_max_length(options_.max_body_bytes);
  // No request budget per kept-alive connection: when cpp-httplib spends one it adds
  // "Connection: close" after our SSE "Connection: keep-alive" (handle_stream), clients
  // believe the first and reuse a socket the server is closing. Idle connections still
  // close after the keep-alive timeout.
  server_.set_keep_alive_max_count(std::numeric_limits<std::size_t>::max());
  // Replies and SSE frames are small writes answered by the client's next request or
  // read at once: with Nagle on, each waited for the client's delayed ACK (~40 ms per
  // request on a kept-alive connection, found by bench/host_bench).
  server_.set_tcp_nodelay(true);
  // cpp-httplib's default adds SO_REUSEPORT, which lets a second process bind the same
  // port and share its traffic; a taken address must be an error instead.
  server_.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  install_routes();

  errno = 0;
  int port = -1;
  if (options_.port == 0) {
    port = server_.bind_to_any_port(options_.bind_address);
  } else if (server_.bind_to_port(options_.bind_address, options_.port)) {
    port = options_.port;
  }
  if (port <= 0) {
    const int err = errno;
    std::string why = (err == EADDRINUSE || err == EACCES || err == EADDRNOTAVAIL)
                          ? std::strerror(err)
                          : "address in use, not local, or not resolvable";
    return Status::unavailable("cannot listen on " + options_.bind_address + ":" + std::to_string(options_.port) +
                               ": " + why);
  }
  port_ = static_cast<std::uint16_t>(port);
  auto done = std::make_shared<std::atomic<bool>>(false);
  listener_ = std::thread([this, done] {
    server_.listen_after_bind();
    done->store(true);
  });
  // stop() is only safe once the accept loop runs (cpp-httplib ignores it before);
  // listen_after_bind() gets there at once, or returns.
  while (!server_.is_running() && !done->load()) std::this_thread::sleep_for(milliseconds(1));
  if (!server_.is_running()) {
    listener_.join();
    return Status::unavailable("gateway: the HTTP server did not start");
  }
  return Status();
}

void GatewayImpl::stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  {
    // Open streams notice within kPollSlice, write their synthetic error and finish.
    std::unique_lock lock(mu_);
    streams_cv_.wait_for(lock, kStopWait, [this] { return open_streams_ == 0; });
  }
  server_.stop();
  if (listener_.joinable()) listener_.join();  // joins the pool: every request has ended
}

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::start(GatewayOptions options, GatewayDeps deps) {
  if (deps.bus == nullptr) return Status::invalid("gateway needs a bus");
  auto gateway = std::make_unique<GatewayImpl>(std::move(options), std::move(deps));
  OAIO_RETURN_IF_ERROR(gateway->listen());
  return std::unique_ptr<Gateway>(std::move(gateway));
}

Result<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Status::invalid("listen address \"" + text + "\": " + why + " (use HOST:PORT, :PORT or PORT)");
  };
  std::string host = "127.0.0.1";
  std::string port_text;
  if (text.empty()) return bad("empty");
  if (text.front() == '[') {  // [v6-address]:PORT
    const std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad("bad IPv6 form");
    host = text.substr(1, close - 1);
    if (host.empty()) return bad("empty host");
    port_text = text.substr(close + 2);
  } else if (const std::size_t colon = text.rfind(':'); colon == std::string::npos) {
    port_text = text;
  } else {
    if (text.find(':') != colon) return bad("write an IPv6 address in brackets");
    if (colon > 0) host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad("port must be a number");
  const unsigned long port = std::stoul(port_text);
  if (port > 65535) return bad("port out of range");
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

}  // namespace oaio::host
