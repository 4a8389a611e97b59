#include "chat_task.h"

#include <algorithm>
#include <cctype>

namespace oaio::sse {
namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  return true;
}

}  // namespace

ChatTask::ChatTask(CurlLoop& loop, oaio::plugin::Call call, ChatRequest request, ChatTaskOptions options,
                   std::function<void()> on_end)
    : loop_(loop),
      request_(std::move(request)),
      options_(std::move(options)),
      on_end_(std::move(on_end)),
      call_(call),
      parser_(options_.max_event_bytes),
      assembler_(options_.errors) {}

ChatTask::~ChatTask() { cleanup_easy(); }

void ChatTask::launch() { loop_id_ = loop_.submit(shared_from_this()); }

void ChatTask::cancel() {
  {
    std::lock_guard<std::mutex> lock(call_mu_);
    if (answered_) return;
    answered_ = true;
    answered_flag_ = true;
    call_.fail(OAIO_ERR_CANCELLED, options_.errors.prefix + "cancelled by the caller", 0);
  }
  loop_.cancel(loop_id_.load());
  if (on_end_) on_end_();
}

CURL* ChatTask::begin() {
  if (answered_flag_) return nullptr;
  cleanup_easy();
  reset_attempt();
  easy_ = curl_easy_init();
  if (easy_ == nullptr) return nullptr;
  for (const std::string& h : request_.headers) headers_ = curl_slist_append(headers_, h.c_str());
  const EndpointConfig& ep = *options_.endpoint;
  curl_easy_setopt(easy_, CURLOPT_URL, request_.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_POST, 1L);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request_.body.data());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_.body.size()));
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &ChatTask::on_header);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  set_stream_options(easy_, &ChatTask::on_write, this, curl_error_, static_cast<long>(ep.connect_timeout_ms));
  if (ep.request_timeout_ms > 0) curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(ep.request_timeout_ms));
  last_data_ = Clock::now();
  return easy_;
}

void ChatTask::reset_attempt() {
  http_status_ = 0;
  error_body_.clear();
  body_head_.clear();
  retry_after_.clear();
  curl_error_[0] = 0;
  idle_expired_ = false;
  parser_ = SseParser(options_.max_event_bytes);
  assembler_ = ChatStreamAssembler(options_.errors);
}

void ChatTask::cleanup_easy() {
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  easy_ = nullptr;
  if (headers_ != nullptr) curl_slist_free_all(headers_);
  headers_ = nullptr;
}

size_t ChatTask::on_header(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<ChatTask*>(self);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->retry_after_.clear();  // a new response (after a 100 Continue, a redirect)
  } else if (header_is(line, "retry-after")) {
    t->retry_after_ = std::string(line.substr(12));
  }
  t->last_data_ = Clock::now();
  return size * n;
}

size_t ChatTask::on_write(char* data, size_t size, size_t n, void* self) {
  return static_cast<ChatTask*>(self)->write(data, size * n);
}

size_t ChatTask::write(const char* data, size_t len) {
  if (assembler_.done()) return len;  // after [DONE]: let the body end so the connection is reused
  if (answered_flag_) return 0;       // failed or cancelled: stop reading now
  last_data_ = Clock::now();
  if (http_status_ == 0) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &http_status_);
  if (http_status_ < 200 || http_status_ >= 300) {
    // An error response: keep (the start of) its body for the message.
    error_body_.append(data, std::min(len, kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size())));
    return len;
  }
  if (parser_.event_count() == 0 && body_head_.size() < kMaxErrorBody)
    body_head_.append(data, std::min(len, kMaxErrorBody - body_head_.size()));
  std::vector<std::string> deltas;
  ChatStreamAssembler::Step step = ChatStreamAssembler::Step::kContinue;
  bool ok = parser_.feed(std::string_view(data, len), [&](const SseEvent& e) {
    step = assembler_.on_data(e.data, deltas);
    return step == ChatStreamAssembler::Step::kContinue;
  });
  forward_deltas(deltas);
  if (step == ChatStreamAssembler::Step::kDone) {
    complete();  // at once; what follows [DONE] is read and dropped
    done_at_ = Clock::now();
    return len;
  }
  if (step == ChatStreamAssembler::Step::kError) {
    fail(assembler_.error());
    return 0;
  }
  if (!ok && parser_.failed()) {
    fail(Status(OAIO_ERR_CODEC, options_.errors.prefix + parser_.error()));
    return 0;
  }
  return len;
}

void ChatTask::forward_deltas(std::vector<std::string>& deltas) {
  if (deltas.empty()) return;
  std::lock_guard<std::mutex> lock(call_mu_);
  if (answered_) return;
  // An Invoke caller sees nothing before the final, so its call may still be retried
  // (each attempt starts a fresh assembler).
  if (!options_.deliver_frames) return;
  forwarded_ = true;
  if (!started_sent_) {
    call_.started(assembler_.started_meta());
    started_sent_ = true;
  }
  for (const std::string& d : deltas) call_.delta(d);
}

void ChatTask::complete() {
  {
    std::lock_guard<std::mutex> lock(call_mu_);
    if (answered_) return;
    answered_ = true;
    answered_flag_ = true;
    if (options_.deliver_frames && !started_sent_) call_.started(assembler_.started_meta());
    started_sent_ = true;
    call_.complete(assembler_.final_payload());
  }
  if (on_end_) on_end_();
}

void ChatTask::fail(const Status& s) {
  {
    std::lock_guard<std::mutex> lock(call_mu_);
    if (answered_) return;
    answered_ = true;
    answered_flag_ = true;
    call_.fail(s);
  }
  if (on_end_) on_end_();
}

bool ChatTask::tick(Clock::time_point now) {
  // A server that keeps the connection open after [DONE] gets a moment to end the
  // body (so the connection can be reused), then the transfer is dropped.
  if (assembler_.done()) return now - done_at_ < std::chrono::milliseconds(500);
  if (answered_flag_) return false;
  std::uint32_t idle = options_.endpoint->idle_timeout_ms;
  if (idle > 0 && now - last_data_ > std::chrono::milliseconds(idle)) {
    idle_expired_ = true;
    return false;
  }
  return true;
}

void ChatTask::finished(CURLcode result) {
  if (easy_ != nullptr && http_status_ == 0) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &http_status_);
  cleanup_easy();
  if (answered_flag_) return;  // done, failed or cancelled already
  const ErrorContext& ctx = options_.errors;
  Status status;
  if (result == CURLE_ABORTED_BY_CALLBACK) {
    status = Status(OAIO_ERR_AGENT_UNAVAILABLE, ctx.prefix + "bridge stopped", 1);
  } else if (idle_expired_) {
    status = Status(OAIO_ERR_AGENT_TIMEOUT,
                    ctx.prefix + "no data from upstream for " +
                        std::to_string(options_.endpoint->idle_timeout_ms) + " ms (idle_timeout)",
                    1);
  } else if (http_status_ != 0 && (http_status_ < 200 || http_status_ >= 300) &&
             (result == CURLE_OK || result == CURLE_PARTIAL_FILE || result == CURLE_RECV_ERROR)) {
    status = status_from_http(http_status_, error_body_, retry_after_, ctx);
  } else if (result != CURLE_OK) {
    status = status_from_curl(result, curl_error_, ctx);
    if (assembler_.saw_chunk() && result != CURLE_OPERATION_TIMEDOUT)
      status = Status(status.code(), status.message() + " (the stream was cut off mid-answer)", status.retryable());
  } else {
    parser_.finish();
    // No SSE at all: a server that ignored `stream: true` (or a JSON error with 200).
    std::vector<std::string> deltas;
    auto step = parser_.event_count() == 0 && !body_head_.empty() ? assembler_.on_whole_body(body_head_, deltas)
                                                                  : assembler_.finish();
    forward_deltas(deltas);
    if (step == ChatStreamAssembler::Step::kDone) {
      complete();
      return;
    }
    status = assembler_.error();
  }

  const EndpointConfig& ep = *options_.endpoint;
  if (!forwarded_ && !loop_.stopping() && result != CURLE_ABORTED_BY_CALLBACK && is_retryable(status) &&
      attempt_ < ep.retries && status.retry_after_ms() <= ep.max_retry_after_ms) {
    std::uint64_t backoff = static_cast<std::uint64_t>(ep.retry_backoff_ms) << std::min<std::uint32_t>(attempt_, 16);
    backoff = std::max<std::uint64_t>(backoff, status.retry_after_ms());
    ++attempt_;
    loop_id_ = loop_.submit(shared_from_this(), std::chrono::milliseconds(std::min<std::uint64_t>(backoff, 600000)));
    return;
  }
  fail(status);
}

}  // namespace oaio::sse
