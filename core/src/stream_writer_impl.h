// StreamWriterImpl: the server side of one stream (WIRE.md §5): the seq counter, the
// open -> closing -> closed state machine with its failed branch, automatic terminal
// frames, the [E2] caller-cancel terminal and [E3] heartbeats.
//
// Frames are published while the writer's lock is held, so frames leave in seq order.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "oaio/call.h"

namespace oaio::detail {

class StreamWriterImpl final : public StreamWriter {
 public:
  // Sends one frame to the caller (and may move from it); returns the send's status.
  using PublishFn = std::function<Status(Envelope& frame)>;

  // `invoke_mode`: the caller is an Invoke caller of a serve_invoke target: non-terminal
  // frames are accepted and dropped, so the terminal frame is the only one (seq 0, no
  // seq key), exactly an Invoke reply.
  StreamWriterImpl(const Envelope& request, std::string agent_id, PublishFn publish, bool invoke_mode = false);

  Status started(std::string_view meta_json) override;
  Status delta(std::string_view payload_json) override;
  Status send(Envelope frame) override;
  Status final(std::string_view payload_json) override;
  Status error(const Status& error) override;
  bool closed() const override;
  std::uint64_t frames_sent() const override;

  // The handler finished with `outcome`: sends the automatic terminal frame when none was
  // sent, or the failed-state error on the reserved seq (WIRE.md §5.3–4).
  void finish(const Status& outcome);
  // [E2]: the caller cancelled. Sends the INVALID_REQUEST "stream cancelled by caller"
  // terminal unless a terminal was already reserved; later writes fail.
  void cancel_by_caller();
  // [E3]: sends a heartbeat if the stream is open and nothing was sent for `interval`
  // (always when `force`). Returns when the next one is due, or nullopt once heartbeats
  // must stop (a terminal frame was reserved).
  std::optional<std::chrono::steady_clock::time_point> heartbeat(std::chrono::milliseconds interval, bool force);

 private:
  enum class State { kOpen, kClosing, kClosed, kFailed };

  // Publishes `frame` as the next seq (terminal or not). REQUIRES: mu_ held.
  Status emit_locked(Envelope frame, bool terminal);
  Status error_locked(const Status& error, std::string_view cause_json);

  const Envelope request_;  // copy of the request: the shell source
  const std::string agent_id_;
  const PublishFn publish_;
  const bool invoke_mode_;
  mutable std::mutex mu_;
  State state_ = State::kOpen;                       // guarded by mu_
  std::uint64_t next_seq_ = 0;                       // guarded by mu_
  std::uint64_t reserved_seq_ = 0;                   // guarded by mu_; valid in kFailed
  std::uint64_t frames_sent_ = 0;                    // guarded by mu_
  bool started_sent_ = false;                        // guarded by mu_
  bool cancelled_ = false;                           // guarded by mu_
  std::string last_publish_error_;                   // guarded by mu_
  std::chrono::steady_clock::time_point last_sent_;  // guarded by mu_; any frame incl. heartbeats
};

}  // namespace oaio::detail
