#include "source_task.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "error_map.h"
#include "text_util.h"

namespace oaio::sse {

SourceTask::SourceTask(CurlLoop& loop, SourceConfig config, std::size_t max_event_bytes,
                       std::vector<std::string> secrets, PublishFn publish, StateFn state)
    : loop_(loop),
      config_(std::move(config)),
      secrets_(std::move(secrets)),
      publish_(std::move(publish)),
      state_(std::move(state)),
      parser_(max_event_bytes) {}

SourceTask::~SourceTask() { cleanup_easy(); }

void SourceTask::launch() { loop_id_ = loop_.submit(shared_from_this()); }

void SourceTask::stop() {
  stopped_ = true;
  loop_.cancel(loop_id_.load());
}

void SourceTask::cleanup_easy() {
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  easy_ = nullptr;
  if (headers_ != nullptr) curl_slist_free_all(headers_);
  headers_ = nullptr;
}

CURL* SourceTask::begin() {
  if (stopped_) return nullptr;
  cleanup_easy();
  easy_ = curl_easy_init();
  if (easy_ == nullptr) return nullptr;
  http_status_ = 0;
  got_data_ = false;
  idle_expired_ = false;
  curl_error_[0] = 0;
  headers_ = curl_slist_append(headers_, "Accept: text/event-stream");
  headers_ = curl_slist_append(headers_, "Cache-Control: no-cache");
  if (!parser_.last_event_id().empty() && parser_.last_event_id().find_first_of("\r\n") == std::string::npos)
    headers_ = curl_slist_append(headers_, ("Last-Event-ID: " + parser_.last_event_id()).c_str());
  for (const auto& [k, v] : config_.headers) headers_ = curl_slist_append(headers_, (k + ": " + v).c_str());
  curl_easy_setopt(easy_, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, 5L);
  set_stream_options(easy_, &SourceTask::on_write, this, curl_error_, static_cast<long>(config_.connect_timeout_ms));
  last_data_ = Clock::now();
  return easy_;
}

size_t SourceTask::on_write(char* data, size_t size, size_t n, void* self) {
  return static_cast<SourceTask*>(self)->write(data, size * n);
}

size_t SourceTask::write(const char* data, size_t len) {
  if (stopped_) return 0;
  last_data_ = Clock::now();
  if (http_status_ == 0) {
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &http_status_);
    if (http_status_ >= 200 && http_status_ < 300) {
      connects_++;
      backoff_ms_ = 0;
      if (state_) state_(true, {}, 0);
    }
  }
  if (http_status_ < 200 || http_status_ >= 300) return len;  // ignored; finished() reports it
  got_data_ = true;
  bool ok = parser_.feed(std::string_view(data, len), [&](const SseEvent& e) {
    nlohmann::json payload = nlohmann::json::object();
    payload["event"] = e.type;
    nlohmann::json parsed = nlohmann::json::parse(e.data, nullptr, false);
    if (parsed.is_discarded()) {
      payload["data"] = e.data;
    } else {
      payload["data"] = std::move(parsed);
    }
    payload["id"] = e.id;
    publish_(config_.event_type, payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return true;
  });
  return ok ? len : 0;
}

bool SourceTask::tick(Clock::time_point now) {
  if (stopped_) return false;
  if (config_.idle_timeout_ms > 0 && now - last_data_ > std::chrono::milliseconds(config_.idle_timeout_ms)) {
    idle_expired_ = true;
    return false;
  }
  return true;
}

void SourceTask::finished(CURLcode result) {
  if (easy_ != nullptr && http_status_ == 0) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &http_status_);
  cleanup_easy();
  parser_.finish();  // an event cut off by the disconnect is dropped; the id buffer stays
  if (stopped_ || loop_.stopping() || result == CURLE_ABORTED_BY_CALLBACK) return;
  ErrorContext ctx{"sse source '" + config_.name + "': ", secrets_};
  if (http_status_ == 204) {
    if (state_) state_(false, ctx.prefix + "server answered 204: not reconnecting", 0);
    return;
  }
  bool worked = got_data_ && http_status_ >= 200 && http_status_ < 300;
  std::string why;
  if (parser_.failed()) {
    why = ctx.prefix + parser_.error();
    parser_.reset_after_error();
    worked = false;
  } else if (idle_expired_) {
    why = ctx.prefix + "no data for " + std::to_string(config_.idle_timeout_ms) + " ms";
  } else if (http_status_ != 0 && (http_status_ < 200 || http_status_ >= 300)) {
    why = status_from_http(http_status_, "", "", ctx).message();
  } else if (result != CURLE_OK) {
    why = status_from_curl(result, curl_error_, ctx).message();
  } else {
    why = ctx.prefix + "the server closed the stream";
  }
  std::uint32_t delay;
  if (worked) {
    delay = parser_.retry_ms().value_or(config_.reconnect_ms);
    backoff_ms_ = 0;
  } else {
    std::uint32_t base = std::max<std::uint32_t>(parser_.retry_ms().value_or(config_.reconnect_ms), 1);
    backoff_ms_ = backoff_ms_ == 0 ? base : std::min<std::uint64_t>(std::uint64_t{backoff_ms_} * 2, config_.max_reconnect_ms);
    delay = backoff_ms_;
  }
  // A stream that worked and ended is routine (servers rotate connections): only
  // failures make the bridge DEGRADED.
  if (state_ && !worked) state_(false, why + "; reconnecting in " + std::to_string(delay) + " ms", delay);
  loop_id_ = loop_.submit(shared_from_this(), std::chrono::milliseconds(delay));
}

}  // namespace oaio::sse
