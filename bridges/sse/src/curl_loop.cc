#include "curl_loop.h"

#include <algorithm>

namespace oaio::sse {
namespace {

constexpr auto kTick = std::chrono::milliseconds(100);

// curl_global_init once per process (thread-safe since 7.84; this runs on the control thread).
bool global_init() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

}  // namespace

void set_stream_options(CURL* easy, curl_write_callback write, void* data, char* error_buffer,
                        long connect_timeout_ms) {
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, data);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
}

CurlLoop::CurlLoop() = default;

CurlLoop::~CurlLoop() { stop(); }

bool CurlLoop::start() {
  if (thread_.joinable()) return true;
  if (!global_init()) return false;
  multi_ = curl_multi_init();
  if (multi_ == nullptr) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = true;
  }
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  return true;
}

void CurlLoop::stop() {
  std::vector<Waiting> never_started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    stopping_ = true;
  }
  if (thread_.joinable()) {
    curl_multi_wakeup(multi_);
    thread_.join();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    never_started.swap(waiting_);
    cancels_.clear();
  }
  for (Waiting& w : never_started) w.task->finished(CURLE_ABORTED_BY_CALLBACK);
  if (multi_ != nullptr) {
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
  }
}

std::uint64_t CurlLoop::submit(std::shared_ptr<LoopTask> task, std::chrono::milliseconds delay) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    if (accepting_) {
      waiting_.push_back(Waiting{id, Clock::now() + delay, std::move(task)});
      curl_multi_wakeup(multi_);
      return id;
    }
  }
  task->finished(CURLE_ABORTED_BY_CALLBACK);
  return id;
}

void CurlLoop::cancel(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepting_) return;
  cancels_.push_back(id);
  curl_multi_wakeup(multi_);
}

void CurlLoop::begin_task(Waiting w) {
  CURL* easy = w.task->begin();
  if (easy == nullptr) {
    w.task->finished(CURLE_FAILED_INIT);
    return;
  }
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    w.task->finished(CURLE_FAILED_INIT);
    return;
  }
  by_id_[w.id] = easy;
  active_.emplace(easy, Active{w.id, easy, std::move(w.task)});
  running_ = active_.size();
}

void CurlLoop::end_active(CURL* easy, CURLcode result) {
  auto it = active_.find(easy);
  if (it == active_.end()) return;
  Active a = std::move(it->second);
  active_.erase(it);
  by_id_.erase(a.id);
  running_ = active_.size();
  curl_multi_remove_handle(multi_, easy);
  a.task->finished(result);  // may submit() again (retries): never under mu_
}

void CurlLoop::run() {
  Clock::time_point next_tick = Clock::now() + kTick;
  while (true) {
    std::vector<Waiting> incoming;
    std::vector<std::uint64_t> cancels;
    {
      std::lock_guard<std::mutex> lock(mu_);
      incoming.swap(waiting_);
      cancels.swap(cancels_);
    }
    if (stopping_) {
      for (Waiting& w : incoming) delayed_.push_back(std::move(w));
      break;
    }
    for (Waiting& w : incoming) delayed_.push_back(std::move(w));

    for (std::uint64_t id : cancels) {
      if (auto it = by_id_.find(id); it != by_id_.end()) {
        end_active(it->second, CURLE_ABORTED_BY_CALLBACK);
        continue;
      }
      auto d = std::find_if(delayed_.begin(), delayed_.end(), [&](const Waiting& w) { return w.id == id; });
      if (d != delayed_.end()) {
        std::shared_ptr<LoopTask> task = std::move(d->task);
        delayed_.erase(d);
        task->finished(CURLE_ABORTED_BY_CALLBACK);
      }
    }

    Clock::time_point now = Clock::now();
    std::vector<Waiting> due;
    for (auto it = delayed_.begin(); it != delayed_.end();) {
      if (it->due <= now) {
        due.push_back(std::move(*it));
        it = delayed_.erase(it);
      } else {
        ++it;
      }
    }
    for (Waiting& w : due) begin_task(std::move(w));

    int still_running = 0;
    curl_multi_perform(multi_, &still_running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg == CURLMSG_DONE) end_active(msg->easy_handle, msg->data.result);
    }

    now = Clock::now();
    if (now >= next_tick) {
      next_tick = now + kTick;
      std::vector<CURL*> expired;
      for (auto& [easy, a] : active_)
        if (!a.task->tick(now)) expired.push_back(easy);
      for (CURL* easy : expired) end_active(easy, CURLE_OPERATION_TIMEDOUT);
    }

    Clock::time_point wake = next_tick;
    for (const Waiting& w : delayed_) wake = std::min(wake, w.due);
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count();
    long curl_ms = -1;
    curl_multi_timeout(multi_, &curl_ms);
    if (curl_ms >= 0 && curl_ms < wait_ms) wait_ms = curl_ms;
    if (wait_ms < 0) wait_ms = 0;
    if (wait_ms > 0) curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait_ms), nullptr);
  }

  // Stopping: abort everything that runs or waits.
  std::vector<CURL*> all;
  for (auto& [easy, a] : active_) all.push_back(easy);
  for (CURL* easy : all) end_active(easy, CURLE_ABORTED_BY_CALLBACK);
  std::vector<Waiting> rest;
  rest.swap(delayed_);
  for (Waiting& w : rest) w.task->finished(CURLE_ABORTED_BY_CALLBACK);
}

}  // namespace oaio::sse
