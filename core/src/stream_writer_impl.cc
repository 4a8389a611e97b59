#include "stream_writer_impl.h"

#include "reply_builder.h"

namespace oaio::detail {
namespace {

constexpr std::string_view kCancelCause = R"({"reason":"cancelled"})";

Status closed_error() { return Status::invalid("stream already ended: no frame may follow the terminal frame"); }

}  // namespace

StreamWriterImpl::StreamWriterImpl(const Envelope& request, std::string agent_id, PublishFn publish,
                                   bool invoke_mode)
    : request_(request), agent_id_(std::move(agent_id)), publish_(std::move(publish)), invoke_mode_(invoke_mode),
      last_sent_(std::chrono::steady_clock::now()) {}

Status StreamWriterImpl::emit_locked(Envelope frame, bool terminal) {
  // [IMP] validate before taking a seq, so a frame that cannot be encoded leaves no gap.
  if (frame.has_payload() && !is_valid_json(frame.payload)) {
    return Status::codec("stream frame payload is not valid JSON");
  }
  if (invoke_mode_ && !terminal) return Status();  // an Invoke caller sees only the terminal
  std::uint64_t seq = (state_ == State::kFailed) ? reserved_seq_ : next_seq_;
  frame.seq = seq;
  if (terminal) state_ = State::kClosing;
  Status s = publish_(frame);
  last_sent_ = std::chrono::steady_clock::now();
  if (!s.ok()) {
    // Keep the seq reserved: only an error frame on this very seq may follow.
    state_ = State::kFailed;
    reserved_seq_ = seq;
    next_seq_ = seq + 1;
    last_publish_error_ = s.message();
    return s;
  }
  next_seq_ = seq + 1;
  ++frames_sent_;
  if (terminal) state_ = State::kClosed;
  return s;
}

Status StreamWriterImpl::started(std::string_view meta_json) {
  std::lock_guard lock(mu_);
  if (state_ != State::kOpen) return closed_error();
  if (started_sent_) return Status::invalid("stream already started: started may be sent once");
  if (frames_sent_ != 0) return Status::invalid("started must be the first frame of a stream");
  Envelope frame = make_reply_shell(request_, event_type::kResponseStarted, agent_id_);
  frame.payload = "{\"meta\":" + std::string(meta_json.empty() ? "{}" : meta_json) + "}";
  Status s = emit_locked(std::move(frame), false);
  // A frame refused before taking a seq (invalid JSON) was never sent: started stays available.
  if (s.ok() || state_ == State::kFailed) started_sent_ = true;
  return s;
}

Status StreamWriterImpl::delta(std::string_view payload_json) {
  std::lock_guard lock(mu_);
  if (state_ != State::kOpen) return cancelled_ ? Status::invalid("stream cancelled by caller") : closed_error();
  Envelope frame = make_reply_shell(request_, event_type::kResponseDelta, agent_id_);
  frame.payload = std::string(payload_json);
  return emit_locked(std::move(frame), false);
}

Status StreamWriterImpl::send(Envelope frame) {
  std::lock_guard lock(mu_);
  // WIRE.md §2.3: a frame is terminal by its type (or, for an unmapped type, its
  // terminal frame_type); is_final on anything else is refused, never sent.
  const bool terminal =
      is_terminal_event_type(frame.event_type) ||
      (canonical_frame_type(frame.event_type).empty() &&
       (frame.frame_type == "response.final" || frame.frame_type == "response.error" ||
        frame.frame_type == "tool.result"));
  if (frame.is_final && !terminal) {
    return Status::invalid("is_final is only allowed on a terminal frame, not on \"" + frame.event_type + "\"");
  }
  if (state_ == State::kFailed && !(terminal && frame.event_type == event_type::kResponseError)) {
    return Status::invalid("stream writer failed: only an error frame may follow");
  }
  if (state_ != State::kOpen && state_ != State::kFailed) return closed_error();
  if (frame.event_type.empty()) return Status::invalid("stream frame needs an event_type");
  // WIRE.md §2.5: at most one started frame, whichever method sends it.
  const bool is_started = frame.event_type == event_type::kResponseStarted;
  if (is_started && started_sent_) return Status::invalid("stream already started: started may be sent once");
  if (is_started && frames_sent_ != 0) return Status::invalid("started must be the first frame of a stream");
  complete_reply(frame, request_, agent_id_);
  frame.is_final = terminal;
  Status s = emit_locked(std::move(frame), terminal);
  if (is_started && (s.ok() || state_ == State::kFailed)) started_sent_ = true;
  return s;
}

Status StreamWriterImpl::final(std::string_view payload_json) {
  std::lock_guard lock(mu_);
  if (state_ == State::kFailed) return Status::invalid("stream writer failed: only an error frame may follow");
  if (state_ != State::kOpen) return closed_error();
  Envelope frame = make_reply_shell(request_, event_type::kResponseFinal, agent_id_);
  frame.payload = std::string(payload_json);
  frame.is_final = true;
  return emit_locked(std::move(frame), true);
}

Status StreamWriterImpl::error_locked(const Status& error, std::string_view cause_json) {
  Envelope frame = make_reply_shell(request_, event_type::kResponseError, agent_id_);
  frame.payload = encode_error_payload(error, cause_json);
  frame.is_final = true;
  return emit_locked(std::move(frame), true);
}

Status StreamWriterImpl::error(const Status& error) {
  std::lock_guard lock(mu_);
  if (state_ != State::kOpen && state_ != State::kFailed) return closed_error();
  return error_locked(error.ok() ? Status::unavailable("stream error") : error, {});
}

bool StreamWriterImpl::closed() const {
  std::lock_guard lock(mu_);
  return state_ != State::kOpen;
}

std::uint64_t StreamWriterImpl::frames_sent() const {
  std::lock_guard lock(mu_);
  return frames_sent_;
}

void StreamWriterImpl::finish(const Status& outcome) {
  std::lock_guard lock(mu_);
  if (state_ == State::kOpen) {
    if (outcome.ok()) {
      Envelope frame = make_reply_shell(request_, event_type::kResponseFinal, agent_id_);
      frame.is_final = true;
      (void)emit_locked(std::move(frame), true);
    } else {
      (void)error_locked(outcome, {});
    }
    return;
  }
  if (state_ == State::kFailed) {
    std::string message = !outcome.ok()                  ? outcome.message()
                          : !last_publish_error_.empty() ? last_publish_error_
                                                         : "stream: terminal publish failed";
    Status err = outcome.ok() ? Status::unavailable(message) : Status(outcome.code(), message, outcome.retryable());
    (void)error_locked(err, {});  // a second failure is logged by the publisher
  }
}

void StreamWriterImpl::cancel_by_caller() {
  std::lock_guard lock(mu_);
  if (state_ != State::kOpen) return;
  cancelled_ = true;
  (void)error_locked(Status::invalid("stream cancelled by caller"), kCancelCause);
}

std::optional<std::chrono::steady_clock::time_point> StreamWriterImpl::heartbeat(std::chrono::milliseconds interval,
                                                                                bool force) {
  std::lock_guard lock(mu_);
  if (state_ != State::kOpen) return std::nullopt;
  if (!force && std::chrono::steady_clock::now() - last_sent_ < interval) return last_sent_ + interval;
  // A heartbeat is a reply shell without frame_type, seq, is_final, payload or metadata,
  // and never touches the seq counter.
  Envelope hb = make_reply_shell(request_, event_type::kResponseHeartbeat, agent_id_);
  hb.frame_type.clear();
  hb.metadata.clear();
  (void)publish_(hb);
  last_sent_ = std::chrono::steady_clock::now();
  return last_sent_ + interval;
}

}  // namespace oaio::detail
