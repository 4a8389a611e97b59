#include "http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <thread>

namespace oaio::mcp {
namespace {

std::once_flag g_curl_once;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Cuts at most `max` bytes of a body for an error message (never splitting UTF-8).
std::string snippet(const std::string& body, std::size_t max = 300) {
  std::string_view t = trim(body);
  if (t.size() <= max) return std::string(t);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(t[n]) & 0xC0) == 0x80) --n;
  return std::string(t.substr(0, n)) + "...";
}

}  // namespace

struct HttpTransport::Exchange {
  CURLcode code = CURLE_OK;
  std::string curl_error;
  long status = 0;
  std::string content_type;
  std::string session_id;    // from the response headers
  std::string sent_session;  // the one this POST carried
  std::string body;          // JSON bodies (and error bodies), up to the limit
  bool body_too_big = false;
  std::size_t body_length = 0;
  bool sse = false;
  std::string last_event_id;  // of an SSE body
  long retry_ms = -1;         // the SSE "retry" field, -1 = none
};

HttpTransport::HttpTransport(HttpOptions options) : options_(std::move(options)) {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpTransport::~HttpTransport() { close(); }

std::optional<CallError> HttpTransport::open(TransportCallbacks callbacks) {
  cb_ = std::move(callbacks);
  if (options_.url.rfind("http://", 0) != 0 && options_.url.rfind("https://", 0) != 0)
    return CallError{OAIO_ERR_INVALID_REQUEST, "http_url must start with http:// or https://", 0};
  return std::nullopt;  // Streamable HTTP has no connection to open: the first POST is initialize
}

std::string HttpTransport::session_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return session_id_;
}

void HttpTransport::set_protocol_version(const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  protocol_version_ = version;
}

std::optional<CallError> HttpTransport::send(const std::string& frame, std::optional<int64_t> request_id,
                                             std::string_view method) {
  if (closing_.load()) return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "MCP transport is closed"};
  if (lost_.load()) return CallError{OAIO_ERR_AGENT_UNAVAILABLE, "MCP server is unreachable"};
  reap_workers(false);
  std::lock_guard<std::mutex> lock(mu_);
  if (method == "initialize") init_frame_ = frame;
  workers_.emplace_back();
  Worker* w = &workers_.back();
  w->thread = std::thread([this, w, frame, request_id, m = std::string(method)]() mutable {
    run(std::move(frame), request_id, std::move(m));
    std::lock_guard<std::mutex> l(mu_);
    w->done = true;
  });
  return std::nullopt;
}

void HttpTransport::run(std::string frame, std::optional<int64_t> request_id, std::string method) {
  Exchange ex = post(frame, true);
  if (ex.code == CURLE_OK && ex.status == 404 && !ex.sent_session.empty() && method != "initialize" &&
      !closing_.load()) {
    if (cb_.log) cb_.log(OAIO_LOG_INFO, "MCP session expired (HTTP 404): initializing a new one");
    if (!reinitialize(ex.sent_session)) {
      CallError e{OAIO_ERR_AGENT_UNAVAILABLE, "MCP session expired and re-initializing failed", 1};
      if (request_id && cb_.on_request_failed) cb_.on_request_failed(*request_id, e);
      lost(e);  // the bridge reconnects from scratch
      return;
    }
    ex = post(frame, true);
  }
  if (closing_.load()) return;
  if (ex.code != CURLE_OK) {
    CallError e{OAIO_ERR_AGENT_UNAVAILABLE, "MCP server unreachable: " + ex.curl_error, 1};
    if (request_id && cb_.on_request_failed) cb_.on_request_failed(*request_id, e);
    lost(e);
    return;
  }
  if (ex.status >= 400) {
    std::string msg = "MCP server answered HTTP " + std::to_string(ex.status);
    std::string body = redact(snippet(ex.body), {options_.token});
    if (!body.empty()) msg += ": " + body;
    if (request_id && cb_.on_request_failed) {
      cb_.on_request_failed(*request_id, CallError{code_for_http_status(ex.status), msg});
    } else if (cb_.log) {
      cb_.log(OAIO_LOG_WARN, msg + " (to " + method + ")");
    }
    return;
  }
  if (ex.body_too_big && cb_.on_oversized) cb_.on_oversized(ex.body.substr(0, 256), "", ex.body_length);
  // An SSE stream that ended before the response: resume it with GET + Last-Event-ID.
  for (int attempt = 0; request_id && ex.sse && !ex.last_event_id.empty() && attempt < 3 && cb_.is_pending &&
                        cb_.is_pending(*request_id) && !closing_.load();
       ++attempt) {
    long wait = ex.retry_ms >= 0 ? std::min(ex.retry_ms, 60000L) : 1000L;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait);
    while (std::chrono::steady_clock::now() < until && !closing_.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::string last = ex.last_event_id;
    long retry = ex.retry_ms;
    ex = post("", true, true, last, request_id);
    if (closing_.load() || ex.code != CURLE_OK) break;
    if (ex.last_event_id.empty()) ex.last_event_id = last;
    if (ex.retry_ms < 0) ex.retry_ms = retry;
  }
  // Every frame of the exchange was delivered synchronously inside post(): a request
  // still pending now was not answered (a 202, or an SSE stream that ended early). It
  // fails now rather than at its timeout; for an answered one this is a no-op.
  if (request_id && cb_.on_request_failed)
    cb_.on_request_failed(*request_id, CallError{OAIO_ERR_AGENT_UNAVAILABLE,
                                                 "the MCP server ended the exchange without answering", 1});
}

bool HttpTransport::reinitialize(const std::string& expired_session) {
  std::lock_guard<std::mutex> guard(reinit_mu_);
  std::string init;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (session_id_ != expired_session) return !session_id_.empty();  // another worker did it
    session_id_.clear();
    init = init_frame_;
  }
  if (init.empty()) return false;
  Exchange ex = post(init, false);
  if (ex.code != CURLE_OK || ex.status >= 300 || ex.session_id.empty()) {
    if (cb_.log) cb_.log(OAIO_LOG_WARN, "MCP re-initialization failed (HTTP " + std::to_string(ex.status) + ")");
    return false;
  }
  Exchange n = post(make_notification("notifications/initialized", Json()), false);
  ++session_epoch_;  // the GET stream of the old session is abandoned and reopened
  return n.code == CURLE_OK && n.status < 300;
}

void HttpTransport::on_initialized() {
  if (closing_.load() || listening_.exchange(true)) return;
  std::lock_guard<std::mutex> lock(mu_);
  workers_.emplace_back();
  Worker* w = &workers_.back();
  w->thread = std::thread([this, w] {
    listen_loop();
    std::lock_guard<std::mutex> l(mu_);
    w->done = true;
  });
}

void HttpTransport::listen_loop() {
  int quick_failures = 0;
  while (!closing_.load() && !lost_.load()) {
    auto started = std::chrono::steady_clock::now();
    Exchange ex = post("", true, true);
    if (closing_.load() || lost_.load()) return;
    if (ex.code != CURLE_OK && ex.code != CURLE_ABORTED_BY_CALLBACK) {
      lost(CallError{OAIO_ERR_AGENT_UNAVAILABLE, "MCP server unreachable: " + ex.curl_error, 1});
      return;
    }
    if (ex.status == 405) {
      if (cb_.log) cb_.log(OAIO_LOG_DEBUG, "MCP server offers no GET stream (405)");
      return;
    }
    // Ended normally, or refused (409 conflict, 404 before a re-initialize): reopen after
    // a pause; give up after repeated immediate failures (a server that never allows it).
    bool quick = std::chrono::steady_clock::now() - started < std::chrono::seconds(1);
    quick_failures = quick ? quick_failures + 1 : 0;
    if (quick_failures > 20) {
      if (cb_.log) cb_.log(OAIO_LOG_DEBUG, "MCP GET stream keeps failing (HTTP " + std::to_string(ex.status) + "); not reopened");
      return;
    }
    for (int i = 0; i < (quick ? 10 : 1) && !closing_.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

HttpTransport::Exchange HttpTransport::post(const std::string& body, bool deliver, bool get,
                                            const std::string& last_event_id, std::optional<int64_t> wait_for) {
  Exchange ex;
  bool is_init = !get && body.find("\"method\":\"initialize\"") != std::string::npos;
  uint64_t epoch = session_epoch_.load();
  std::string version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ex.sent_session = session_id_;
    version = protocol_version_;
  }
  struct Ctx {
    HttpTransport* self;
    Exchange* ex;
    bool deliver;
    bool is_init;
    bool get;
    uint64_t epoch;
    std::optional<int64_t> wait_for;  // a resumed stream: stop once this request is answered
    bool sse = false;
    bool decided = false;
    std::unique_ptr<SseParser> parser;
  } ctx{this, &ex, deliver, is_init, get, epoch, wait_for, false, false, nullptr};

  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    ex.code = CURLE_FAILED_INIT;
    ex.curl_error = "curl_easy_init failed";
    return ex;
  }
  struct curl_slist* headers = nullptr;
  if (get) {
    headers = curl_slist_append(headers, "Accept: text/event-stream");
    if (!last_event_id.empty()) headers = curl_slist_append(headers, ("Last-Event-ID: " + last_event_id).c_str());
  } else {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json, text/event-stream");
  }
  if (!ex.sent_session.empty()) headers = curl_slist_append(headers, ("Mcp-Session-Id: " + ex.sent_session).c_str());
  if (!version.empty() && !is_init) headers = curl_slist_append(headers, ("MCP-Protocol-Version: " + version).c_str());
  if (!options_.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + options_.token).c_str());
  for (const auto& [k, v] : options_.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());

  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  if (get) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  // No overall timeout: a tool call may run for minutes; the Client owns deadlines.
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  // Aborts on close, and a GET stream whose session was replaced by a re-initialize.
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &ctx);
  curl_easy_setopt(
      curl, CURLOPT_XFERINFOFUNCTION, +[](void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
        auto* c = static_cast<Ctx*>(p);
        if (c->self->closing_.load()) return 1;
        if (c->wait_for && c->self->cb_.is_pending && !c->self->cb_.is_pending(*c->wait_for)) return 1;
        return c->get && !c->wait_for && c->self->session_epoch_.load() != c->epoch ? 1 : 0;
      });
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(
      curl, CURLOPT_HEADERFUNCTION, +[](char* data, size_t size, size_t n, void* p) -> size_t {
        auto* c = static_cast<Ctx*>(p);
        std::string_view line(data, size * n);
        std::size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
          std::string name = lower(trim(line.substr(0, colon)));
          std::string value(trim(line.substr(colon + 1)));
          if (name == "mcp-session-id") {
            c->ex->session_id = value;
            if (c->is_init) {  // before the body: the client may send the next frame at once
              std::lock_guard<std::mutex> lock(c->self->mu_);
              c->self->session_id_ = value;
            }
          } else if (name == "content-type") {
            c->ex->content_type = lower(value);
          }
        } else if (line.rfind("HTTP/", 0) == 0) {
          c->ex->content_type.clear();  // a new response (e.g. after 100 Continue)
        }
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* p) -> size_t {
        auto* c = static_cast<Ctx*>(p);
        HttpTransport* self = c->self;
        std::string_view chunk(data, size * n);
        if (!c->decided) {
          c->decided = true;
          c->sse = c->ex->content_type.rfind("text/event-stream", 0) == 0;
          if (c->sse) {
            c->parser = std::make_unique<SseParser>(
                self->options_.max_message_bytes,
                [c](std::string_view, std::string_view event_data, std::string_view) {
                  if (c->deliver && !trim(event_data).empty() && c->self->cb_.on_frame) c->self->cb_.on_frame(event_data);
                },
                [c](std::string_view reason) {
                  if (c->self->cb_.log) c->self->cb_.log(OAIO_LOG_WARN, reason);
                  if (c->deliver && c->self->cb_.on_oversized)
                    c->self->cb_.on_oversized("", "", c->self->options_.max_message_bytes);
                });
          }
        }
        if (c->sse) {
          c->parser->feed(chunk);
        } else {
          c->ex->body_length += chunk.size();
          if (c->ex->body.size() + chunk.size() > self->options_.max_message_bytes) {
            c->ex->body_too_big = true;
          } else {
            c->ex->body.append(chunk);
          }
        }
        return size * n;
      });

  ex.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ex.status);
  if (ex.code != CURLE_OK) ex.curl_error = errbuf[0] != 0 ? errbuf : curl_easy_strerror(ex.code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);

  if (ctx.parser) {
    ctx.parser->finish();
    ex.sse = true;
    ex.last_event_id = ctx.parser->last_event_id();
    ex.retry_ms = ctx.parser->retry_ms();
  }
  // A resumed stream we stopped because its request was answered is a success.
  if (ex.code == CURLE_ABORTED_BY_CALLBACK && wait_for && !closing_.load()) ex.code = CURLE_OK;
  if (ex.code == CURLE_OK && deliver && !ctx.sse && ex.status >= 200 && ex.status < 300 && !ex.body_too_big &&
      !trim(ex.body).empty() && cb_.on_frame)
    cb_.on_frame(ex.body);
  return ex;
}

void HttpTransport::lost(const CallError& why) {
  if (closing_.load() || lost_.exchange(true)) return;
  if (cb_.on_closed) cb_.on_closed(why);
}

void HttpTransport::reap_workers(bool all) {
  std::list<Worker> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (all || it->done) {
        auto next = std::next(it);
        finished.splice(finished.end(), workers_, it);
        it = next;
      } else {
        ++it;
      }
    }
  }
  for (Worker& w : finished)
    if (w.thread.joinable()) w.thread.join();
}

void HttpTransport::delete_session() {
  std::string session = this->session_id();
  if (session.empty() || lost_.load()) return;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return;
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Mcp-Session-Id: " + session).c_str());
  if (!options_.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + options_.token).c_str());
  for (const auto& [k, v] : options_.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) -> size_t { return s * n; });
  curl_easy_perform(curl);  // best effort: the server forgets the session sooner
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

void HttpTransport::close() {
  if (closing_.load()) {
    reap_workers(true);
    return;
  }
  closing_.store(true);  // first: the GET stream ending below is not an outage
  delete_session();
  reap_workers(true);
}

}  // namespace oaio::mcp
