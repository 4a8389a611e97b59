// SseRelay: one StreamInvoke relayed to an HTTP client as Server-Sent Events (WIRE.md
// §10). The bus delivers frames on its own threads into a queue; the HTTP thread calls
// pump() until the stream is over, and pump() writes each frame as an SSE event, the
// comment ": keep-alive" after `keep_alive` of silence (in place of [E3] heartbeats,
// which the bus never yields), or the synthetic error frame when the stream fails after
// its headers. It cancels the bus call ([E2]) whenever it stops reading early. Free of
// any HTTP library: the caller hands pump() its sink.
//
// Thread-safety: the bus callbacks, abandon() and the accessors are thread-safe; pump()
// is for one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "oaio/bus.h"

namespace oaio::host {

// Where pump() writes: the HTTP response of the stream.
struct SseSink {
  std::function<bool(std::string_view bytes)> write;  // false: the client is gone
  std::function<bool()> writable;                     // false: the client is gone
  std::function<void()> done;                         // ends the response body
};

struct SseRelayOptions {
  std::chrono::milliseconds timeout{30000};      // overall (> 0); the bus enforces it
  std::chrono::milliseconds idle_timeout{0};     // longest gap between frames; 0 = off
  std::chrono::milliseconds heartbeat{0};        // [E3] interval asked of the server; 0 = off
  std::chrono::milliseconds keep_alive{0};       // write ": keep-alive" after this much silence; 0 = never
  std::chrono::milliseconds retry{3000};         // the `retry:` field; 0 = omitted
  std::size_t max_queued_bytes = 16u << 20;      // frames waiting for a slow client; more = BACKPRESSURE_DROP
  std::function<void(std::string_view code)> on_error;  // each error frame written (metrics); may be null
};

class SseRelay : public std::enable_shared_from_this<SseRelay> {
 public:
  enum class Step {
    kMore,        // call pump() again
    kDone,        // the terminal frame (the agent's or a synthetic one) was written
    kClientGone,  // the client went away; the bus call was cancelled
  };

  // Starts the call. A failure the bus reports before this returns (bad target name,
  // [E1] no handler on the in-process transport, send error) is returned, and nothing
  // is to be streamed: the caller answers with a plain HTTP status.
  static Result<std::shared_ptr<SseRelay>> start(Bus& bus, std::string_view target, Envelope request,
                                                 SseRelayOptions options);

  // Writes what is ready, or waits for it at most ~100 ms. Once `stopping` is set, the
  // stream ends with AGENT_UNAVAILABLE "gateway shutting down".
  Step pump(const SseSink& sink, const std::atomic<bool>& stopping);
  // Cancels the bus call if it still runs (the response was dropped). Idempotent.
  void abandon(std::string_view reason);

  // Frames received from the agent so far.
  std::uint64_t frames_in() const;
  // How the stream ended for the client: OK after the agent's terminal frame, else the
  // failure (timeout, disconnect, shutdown, ...). OK while still running.
  Status outcome() const;

 private:
  struct Frame {
    std::string text;        // the SSE event
    bool final = false;
    std::string error_code;  // set for agent.response.error frames
  };
  using Clock = std::chrono::steady_clock;

  explicit SseRelay(SseRelayOptions options) : options_(std::move(options)) {}
  bool on_frame(const Envelope& frame);
  void on_end(const Status& status);
  Step fail(const SseSink& sink, const Status& failure);
  Step client_gone();
  void cancel(std::string_view reason);

  const SseRelayOptions options_;
  std::string request_id_;
  Clock::time_point deadline_;
  Clock::time_point next_keep_alive_;  // only pump() uses it

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Frame> frames_;     // guarded by mu_
  std::size_t queued_bytes_ = 0;  // guarded by mu_
  std::uint64_t frames_in_ = 0;   // guarded by mu_
  bool ended_ = false;            // guarded by mu_; the bus reported the end
  Status end_;                    // guarded by mu_
  Status local_failure_;          // guarded by mu_; overflow or an unencodable frame
  Status outcome_;                // guarded by mu_
  CancelFn cancel_;               // guarded by mu_
};

}  // namespace oaio::host
