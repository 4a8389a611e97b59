// SourceTask: source mode — one SSE endpoint (any, not only chat) read forever; each
// event is handed to `publish` as {"event": type, "data": <JSON if the data parses as
// JSON, else the string>, "id": last event id}. When the stream ends or fails it
// reconnects, sending Last-Event-ID, after the server's `retry:` (or reconnect_ms)
// when the connection had worked, or after a doubling back-off (up to
// max_reconnect_ms) when it failed. HTTP 204 stops it for good, as the spec says.
//
// Ownership: the loop holds it while it runs or waits; the bridge keeps it to stop it.
// Thread-safety: hooks on the loop thread; stop() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "config.h"
#include "curl_loop.h"
#include "sse_parser.h"

namespace oaio::sse {

class SourceTask : public LoopTask, public std::enable_shared_from_this<SourceTask> {
 public:
  // payload is the JSON text of one event.
  using PublishFn = std::function<void(const std::string& event_type, const std::string& payload)>;
  // connected = true when a stream is open (RUNNING), false with a reason otherwise.
  using StateFn = std::function<void(bool connected, const std::string& detail, std::uint32_t retry_ms)>;

  SourceTask(CurlLoop& loop, SourceConfig config, std::size_t max_event_bytes, std::vector<std::string> secrets,
             PublishFn publish, StateFn state);
  ~SourceTask() override;

  void launch();
  void stop();  // no more reconnects; aborts the current transfer

  CURL* begin() override;
  void finished(CURLcode result) override;
  bool tick(Clock::time_point now) override;

  std::uint64_t connects() const { return connects_.load(); }

 private:
  static size_t on_write(char* data, size_t size, size_t n, void* self);
  size_t write(const char* data, size_t len);
  void cleanup_easy();

  CurlLoop& loop_;
  const SourceConfig config_;
  const std::vector<std::string> secrets_;
  PublishFn publish_;
  StateFn state_;
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> loop_id_{0};
  std::atomic<std::uint64_t> connects_{0};

  // Loop thread only.
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  char curl_error_[CURL_ERROR_SIZE] = {0};
  long http_status_ = 0;
  SseParser parser_;
  bool got_data_ = false;      // this connection delivered a 2xx body
  bool idle_expired_ = false;
  std::uint32_t backoff_ms_ = 0;
  Clock::time_point last_data_;
};

}  // namespace oaio::sse
