// JSON-RPC 2.0 messages as MCP uses them, and the two framings MCP transports need:
// newline-delimited JSON (stdio) and Server-Sent Events (Streamable HTTP responses).
// Pure functions and small stateful parsers; no I/O. THREAD: a parser object belongs
// to one reader thread; the free functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oaio::mcp {

using Json = nlohmann::json;

// Standard JSON-RPC error codes (and the MCP ones we send or read).
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequestCode = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

// The largest single message (a line, an SSE event or an HTTP body) we accept.
inline constexpr std::size_t kDefaultMaxMessageBytes = 32u * 1024u * 1024u;

enum class MessageKind { kRequest, kNotification, kResult, kError };

// One decoded message. `id` is a number or string (null for notifications and for
// errors the peer could not tie to a request).
struct Message {
  MessageKind kind = MessageKind::kNotification;
  Json id;             // requests and responses
  std::string method;  // requests and notifications
  Json params;         // requests and notifications; null when absent
  Json result;         // kResult
  int error_code = 0;  // kError
  std::string error_message;
  Json error_data;
};

// Parses one frame: a JSON-RPC object, or an array of them (a batch, which older
// protocol versions allow). On malformed input returns nothing and sets `error` to a
// short reason (never the input itself, which may be huge or hold secrets).
std::vector<Message> parse_frame(std::string_view text, std::string* error);

std::string make_request(int64_t id, std::string_view method, const Json& params);
std::string make_notification(std::string_view method, const Json& params);
std::string make_result(const Json& id, const Json& result);
std::string make_error(const Json& id, int code, std::string_view message);

// Finds the numeric `"id":N` of a frame we could not parse in full (e.g. an oversized
// response), by looking at its first and last bytes. Nothing if none is found.
std::optional<int64_t> sniff_id(std::string_view head, std::string_view tail);

// Splits a byte stream into lines ('\n', an optional '\r' before it is dropped).
// A line longer than `max_line` is not buffered: on_oversized gets its first and last
// bytes and its length once it ends. Blank lines are skipped.
class LineSplitter {
 public:
  using LineFn = std::function<void(std::string_view line)>;
  using OversizedFn = std::function<void(std::string_view head, std::string_view tail, std::size_t length)>;
  LineSplitter(std::size_t max_line, LineFn on_line, OversizedFn on_oversized);
  void feed(std::string_view data);

 private:
  void finish_line();
  std::size_t max_line_;
  LineFn on_line_;
  OversizedFn on_oversized_;
  std::string buf_;
  bool oversized_ = false;
  std::size_t skipped_ = 0;  // bytes of an oversized line not kept
  std::string head_, tail_;
};

// An incremental text/event-stream parser (WHATWG rules): fields event, data (joined
// with '\n'), id; comments and retry ignored; an event is dispatched on a blank line.
// An event larger than `max_event` is dropped and reported through on_error.
class SseParser {
 public:
  using EventFn = std::function<void(std::string_view event, std::string_view data, std::string_view id)>;
  using ErrorFn = std::function<void(std::string_view reason)>;
  SseParser(std::size_t max_event, EventFn on_event, ErrorFn on_error);
  void feed(std::string_view data);
  void finish();  // end of stream: a pending event without its blank line is dispatched
  // The last event id seen (for Last-Event-ID) and the last "retry" value (ms; -1 = none).
  const std::string& last_event_id() const { return id_; }
  long retry_ms() const { return retry_ms_; }

 private:
  void line(std::string_view l);
  void dispatch();
  std::size_t max_event_;
  EventFn on_event_;
  ErrorFn on_error_;
  std::string buf_;  // an incomplete line
  bool last_was_cr_ = false;
  std::string event_, data_, id_;
  bool has_data_ = false;
  bool too_big_ = false;
  long retry_ms_ = -1;
};

}  // namespace oaio::mcp
