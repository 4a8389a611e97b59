// ChatTask: one chat call in flight — the HTTP transfer on the CurlLoop, the SSE
// parser, the chunk assembler, and the bus call it answers. It forwards `started`
// (once, just before the first delta or the final), the deltas, then exactly one
// complete() or fail(). Retryable failures (429, 5xx, connection errors) are retried
// with a doubling back-off only while nothing was forwarded yet.
//
// Ownership: shared by the loop (while the transfer runs or waits) and the bridge's
// table of open calls (for cancel). `on_end` runs once, when the call was answered.
// Thread-safety: the transfer hooks run on the loop thread; cancel() from any thread.
// Every use of the Call happens under call_mu_, so a cancel (which answers the call
// itself, at once) never races a delta being forwarded.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chat_request.h"
#include "chat_stream.h"
#include "curl_loop.h"
#include "oaio/plugin.hpp"
#include "sse_parser.h"

namespace oaio::sse {

struct ChatTaskOptions {
  const EndpointConfig* endpoint = nullptr;  // outlives the task (owned by the bridge)
  ErrorContext errors;
  std::size_t max_event_bytes = SseParser::kDefaultMaxEventBytes;
  bool deliver_frames = true;                // false for Invoke callers (no deltas)
};

class ChatTask : public LoopTask, public std::enable_shared_from_this<ChatTask> {
 public:
  ChatTask(CurlLoop& loop, oaio::plugin::Call call, ChatRequest request, ChatTaskOptions options,
           std::function<void()> on_end);
  ~ChatTask() override;

  // Submits the first attempt.
  void launch();
  // The caller went away: answers the call with CANCELLED now and aborts the transfer.
  void cancel();

  CURL* begin() override;
  void finished(CURLcode result) override;
  bool tick(Clock::time_point now) override;

 private:
  static size_t on_write(char* data, size_t size, size_t n, void* self);
  static size_t on_header(char* data, size_t size, size_t n, void* self);
  size_t write(const char* data, size_t len);
  // Answers the call (under call_mu_) unless it was answered already.
  void complete();
  void fail(const oaio::plugin::Status& s);
  void forward_deltas(std::vector<std::string>& deltas);
  void cleanup_easy();
  void reset_attempt();

  CurlLoop& loop_;
  const ChatRequest request_;
  const ChatTaskOptions options_;
  std::function<void()> on_end_;
  std::atomic<std::uint64_t> loop_id_{0};

  std::mutex call_mu_;
  oaio::plugin::Call call_;     // guarded by call_mu_
  bool answered_ = false;       // guarded by call_mu_
  bool started_sent_ = false;   // guarded by call_mu_
  std::atomic<bool> answered_flag_{false};  // a lock-free peek at answered_

  // Loop thread only.
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  char curl_error_[CURL_ERROR_SIZE] = {0};
  long http_status_ = 0;
  std::string error_body_;
  std::string retry_after_;
  std::string body_head_;       // the first bytes of a 2xx body, while it has no SSE event
  SseParser parser_;
  ChatStreamAssembler assembler_;
  bool forwarded_ = false;      // a delta reached a stream caller: no more retries
  bool idle_expired_ = false;
  std::uint32_t attempt_ = 0;
  Clock::time_point last_data_;
  Clock::time_point done_at_;   // when [DONE] arrived
};

}  // namespace oaio::sse
