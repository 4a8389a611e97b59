#include "sse_relay.h"

#include <algorithm>
#include <optional>

#include "gateway_wire.h"

namespace oaio::host {
namespace {

namespace wire = gateway_wire;
using std::chrono::milliseconds;

constexpr milliseconds kPollSlice{100};  // longest pump() waits before looking at stop/disconnect
constexpr milliseconds kGrace{2000};     // past the bus's own timeout before the relay gives up

}  // namespace

Result<std::shared_ptr<SseRelay>> SseRelay::start(Bus& bus, std::string_view target, Envelope request,
                                                  SseRelayOptions options) {
  std::shared_ptr<SseRelay> relay(new SseRelay(std::move(options)));
  const SseRelayOptions& o = relay->options_;
  if (request.event_id.empty()) request.event_id = new_event_id();
  relay->request_id_ = request.event_id;
  const auto now = Clock::now();
  relay->deadline_ = now + o.timeout + kGrace;
  relay->next_keep_alive_ = now + o.keep_alive;

  CallOptions co;
  co.timeout = o.timeout;
  co.idle_timeout = o.idle_timeout;
  co.cancel_on_abandon = true;
  co.heartbeat = o.heartbeat;
  CancelFn cancel = bus.stream_invoke_async(
      target, std::move(request), co, [relay](const Envelope& frame) { return relay->on_frame(frame); },
      [relay](const Status& status) { relay->on_end(status); });

  std::lock_guard lock(relay->mu_);
  relay->cancel_ = std::move(cancel);
  if (relay->ended_ && relay->frames_.empty() && !relay->end_.ok()) return relay->end_;
  return relay;
}

bool SseRelay::on_frame(const Envelope& frame) {
  auto text = wire::sse_event(frame, options_.retry);
  bool keep_going;
  {
    std::lock_guard lock(mu_);
    if (!local_failure_.ok()) return false;
    ++frames_in_;
    if (!text.ok()) {
      local_failure_ = text.status().with_prefix("cannot forward a frame");
    } else if (queued_bytes_ + text.value().size() > options_.max_queued_bytes) {
      local_failure_ = Status::backpressure("gateway: the HTTP client reads too slowly");
    } else {
      Frame f{std::move(text).value(), frame.is_final, {}};
      if (frame.event_type == event_type::kResponseError)
        f.error_code = std::string(decode_error_payload(frame.payload).code_name());
      queued_bytes_ += f.text.size();
      frames_.push_back(std::move(f));
    }
    keep_going = local_failure_.ok();
  }
  cv_.notify_all();
  return keep_going;  // false abandons the bus stream
}

void SseRelay::on_end(const Status& status) {
  {
    std::lock_guard lock(mu_);
    ended_ = true;
    end_ = status;
  }
  cv_.notify_all();
}

SseRelay::Step SseRelay::pump(const SseSink& sink, const std::atomic<bool>& stopping) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!frames_.empty()) {
      std::deque<Frame> batch;
      batch.swap(frames_);
      queued_bytes_ = 0;
      lock.unlock();
      for (const auto& f : batch) {
        if (!sink.write(f.text)) return client_gone();
        if (!f.error_code.empty() && options_.on_error) options_.on_error(f.error_code);
        if (f.final) {
          sink.done();
          return Step::kDone;
        }
      }
      next_keep_alive_ = Clock::now() + options_.keep_alive;
      return Step::kMore;
    }
    const auto now = Clock::now();
    Status failure;
    if (!local_failure_.ok()) {
      failure = local_failure_;
    } else if (ended_) {
      failure = end_.ok() ? Status::unavailable("stream ended without a final frame") : end_;
    } else if (stopping) {
      failure = Status(ErrorCode::kAgentUnavailable, "gateway shutting down", false);
    } else if (now >= deadline_) {
      failure = Status::timeout("gateway: stream exceeded " + std::to_string(options_.timeout.count()) + " ms");
    }
    lock.unlock();
    if (!failure.ok()) return fail(sink, failure);
    if (!sink.writable()) return client_gone();
    const bool keep_alive = options_.keep_alive.count() > 0;
    if (keep_alive && now >= next_keep_alive_) {
      if (!sink.write(wire::kKeepAlive)) return client_gone();
      next_keep_alive_ = now + options_.keep_alive;
      return Step::kMore;
    }
    auto wake = std::min(deadline_, now + kPollSlice);
    if (keep_alive) wake = std::min(wake, next_keep_alive_);
    lock.lock();
    if (frames_.empty() && !ended_ && local_failure_.ok()) cv_.wait_until(lock, wake);
  }
}

// The stream failed after its headers: stop the bus call and write the synthetic frame.
SseRelay::Step SseRelay::fail(const SseSink& sink, const Status& failure) {
  cancel(failure.message());
  {
    std::lock_guard lock(mu_);
    outcome_ = failure;
  }
  auto text = wire::sse_event(wire::synthetic_error_frame(failure, request_id_), options_.retry);
  if (text.ok() && !sink.write(text.value())) return client_gone();
  if (options_.on_error) options_.on_error(wire::synthetic_error(failure).code_name());
  sink.done();
  return Step::kDone;
}

SseRelay::Step SseRelay::client_gone() {
  cancel("http client disconnected");
  std::lock_guard lock(mu_);
  outcome_ = Status::invalid("http client disconnected");
  return Step::kClientGone;
}

void SseRelay::abandon(std::string_view reason) { cancel(reason); }

// Cancels the bus call unless it already ended. Never called with mu_ held: a cancel
// may end the call synchronously, and on_end takes mu_.
void SseRelay::cancel(std::string_view reason) {
  CancelFn fn;
  {
    std::lock_guard lock(mu_);
    if (!ended_) fn = cancel_;
  }
  if (fn) fn(reason);
}

std::uint64_t SseRelay::frames_in() const {
  std::lock_guard lock(mu_);
  return frames_in_;
}

Status SseRelay::outcome() const {
  std::lock_guard lock(mu_);
  return outcome_;
}

}  // namespace oaio::host
