// SseParser: an incremental parser of the text/event-stream format, as the WHATWG
// HTML standard defines it ("9.2 Server-sent events", "event stream interpretation").
// Bytes arrive in chunks of any size; the parser keeps whatever is incomplete (a line
// without its end, a CR whose LF may start the next chunk, a UTF-8 sequence cut in two,
// a BOM cut in two) until the next feed(), so the events do not depend on where the
// chunks were split.
//
//   SseParser p;
//   bool ok = p.feed(chunk, [&](const SseEvent& e) { ...; return true; });
//   if (!ok && p.failed()) error(p.error());   // e.g. an event over the size limit
//   p.finish();   // at end of stream; true if an event was cut off unterminated
//
// What it implements: an optional UTF-8 BOM at the very start is skipped; lines end in
// CRLF, LF or CR; a line starting with ':' is a comment (counted, e.g. keep-alives);
// `data` lines are joined with '\n'; `event` sets the type (default "message"); `id`
// sets the last event id (ignored when it contains NUL; it persists across events, as
// the spec says); `retry` with only ASCII digits sets the reconnection time; other
// fields are ignored; an event is dispatched at a blank line only if it had data.
// Bytes that are not valid UTF-8 become U+FFFD, as a UTF-8 decoder would produce.
//
// Limit: an event (its data, type and id, plus the line being read) larger than
// max_event_bytes stops the parser with an error naming the limit; it then accepts no
// more input.
//
// Thread-safety: none; one parser per stream, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace oaio::sse {

// One dispatched event. OWNERSHIP: the parser's; valid only during the callback.
struct SseEvent {
  std::string_view type;  // "message" unless an `event` field set it
  std::string_view data;  // the data lines joined with '\n'
  std::string_view id;    // the last event id at dispatch time (may be empty)
};

// Called for each event; return false to stop parsing (feed() then returns false).
using SseEventFn = std::function<bool(const SseEvent&)>;

class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = 4u << 20;  // 4 MiB

  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes) : max_event_bytes_(max_event_bytes) {}

  // Parses `chunk`, calling `on_event` for each complete event. Returns false when the
  // callback asked to stop or the parser failed (failed() tells which); the rest of
  // the chunk is then not parsed.
  bool feed(std::string_view chunk, const SseEventFn& on_event);

  // Ends the stream. Returns true if bytes of an unfinished event were pending (a
  // stream cut off mid-event); such an event is discarded, as the spec says.
  bool finish();

  // After a failure: clears the error and the per-stream state (like finish()), keeping
  // the last event id and retry time, so a reconnected stream can be parsed.
  void reset_after_error() {
    error_.clear();
    finish();
  }

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  // The last `retry:` value in milliseconds, if any arrived.
  std::optional<std::uint32_t> retry_ms() const { return retry_ms_; }
  // The last event id buffer (persists across events; send it as Last-Event-ID).
  const std::string& last_event_id() const { return last_event_id_; }
  std::uint64_t comment_count() const { return comments_; }
  std::uint64_t event_count() const { return events_; }

 private:
  // Handles one complete line (without its end). False = stop.
  bool process_line(const SseEventFn& on_event);
  bool dispatch(const SseEventFn& on_event);
  bool over_limit(std::size_t extra) const;
  void fail_too_large();

  std::size_t max_event_bytes_;
  std::string line_;            // bytes of the current line (raw, not yet UTF-8 checked)
  std::string data_;            // the data buffer (each data line + '\n')
  std::string event_type_;      // the event type buffer
  std::string last_event_id_;   // persists across events
  bool has_data_ = false;       // a data field was seen since the last dispatch
  bool pending_ = false;        // a field of an undispatched event was seen
  bool skip_lf_ = false;        // the previous chunk ended in CR: a leading LF belongs to it
  std::size_t bom_seen_ = 0;    // bytes of a leading BOM matched so far
  bool bom_done_ = false;       // past the point where a BOM could be
  std::optional<std::uint32_t> retry_ms_;
  std::string error_;
  std::uint64_t comments_ = 0;
  std::uint64_t events_ = 0;
};

}  // namespace oaio::sse
