// Envelope: the ACP/1.0 message (WIRE.md §1–2) as a plain value, plus its codec.
//
// The payload and metadata values stay raw JSON text end to end, so a frame that
// is only routed is never re-parsed and its payload bytes are kept verbatim
// (WIRE.md §1.5.6). Use nlohmann::json or any JSON library to build or read them.
//
// Thread-safety: Envelope is a value type with no internal synchronisation.
// The free functions below are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "oaio/result.h"

namespace oaio {

// Metadata: key -> raw JSON value text (e.g. "\"abc\"", "3", "true", "{...}").
// std::map keeps keys sorted, which is also the order Go writes map keys in, so
// encoded metadata compares byte for byte with the Go SDK.
using Metadata = std::map<std::string, std::string, std::less<>>;

inline constexpr std::string_view kSpecVersion = "acp/1.0";
inline constexpr std::int64_t kSchemaVersion = 1;

// Event types of WIRE.md §2.
namespace event_type {
inline constexpr std::string_view kMessageReceived = "agent.message.received";
inline constexpr std::string_view kResponseStarted = "agent.response.started";
inline constexpr std::string_view kResponseDelta = "agent.response.delta";
inline constexpr std::string_view kResponseFinal = "agent.response.final";
inline constexpr std::string_view kResponseError = "agent.response.error";
inline constexpr std::string_view kToolCall = "agent.tool.call";
inline constexpr std::string_view kToolResult = "agent.tool.result";
inline constexpr std::string_view kTaskCreated = "agent.task.created";
inline constexpr std::string_view kTaskCompleted = "agent.task.completed";
// Extensions (WIRE.md §11).
inline constexpr std::string_view kRequestCancel = "agent.request.cancel";        // [E2]
inline constexpr std::string_view kResponseHeartbeat = "agent.response.heartbeat";  // [E3]
}  // namespace event_type

// Reserved metadata keys (WIRE.md §8, §11).
namespace meta_key {
inline constexpr std::string_view kRetryAttempt = "acp.retry.attempt";
inline constexpr std::string_view kDlqOriginalEventType = "acp.dlq.original_event_type";
inline constexpr std::string_view kDlqLastError = "acp.dlq.last_error";
inline constexpr std::string_view kCancel = "acp.cancel";             // [E2]
inline constexpr std::string_view kHeartbeatMs = "acp.heartbeat_ms";  // [E3]
// Set by this runtime's stream clients: the caller reads a stream (see
// HandlerOptions::serve_invoke). Reference servers strip acp.* keys and ignore it.
inline constexpr std::string_view kStream = "acp.stream";
}  // namespace meta_key

struct Envelope {
  std::string spec_version{kSpecVersion};
  std::int64_t schema_version = kSchemaVersion;
  std::string event_id;     // empty: the encoder writes a new UUIDv7 (make_envelope sets one)
  std::string event_type;
  std::string frame_type;   // omitted when empty
  std::string occurred_at;  // RFC 3339; empty = unknown (decoder) / now (encoder)
  std::string trace_id;
  std::string span_id;
  std::string traceparent;
  std::string session_id;
  std::string conversation_id;
  std::string correlation_id;
  std::string reply_to;
  std::string from;
  std::string to;
  std::string channel;
  std::string tenant_id;
  std::string user_id;
  std::uint64_t seq = 0;    // omitted when 0
  bool is_final = false;    // omitted when false
  std::string payload;      // raw JSON text; empty = no payload key
  Metadata metadata;        // omitted when empty

  bool has_payload() const noexcept { return !payload.empty(); }
};

// A fresh envelope with spec/schema version, a new UUIDv7 event_id, occurred_at = now
// and the given event type. payload_json must be valid JSON or empty.
Envelope make_envelope(std::string_view event_type, std::string payload_json = {});

// The canonical frame_type for a mapped event type ("request", "response.delta", ...),
// or an empty view for an unmapped one (WIRE.md §2).
std::string_view canonical_frame_type(std::string_view event_type) noexcept;
// The effective frame type: canonical for a mapped type, otherwise env.frame_type.
std::string_view effective_frame_type(const Envelope& env) noexcept;
// True for agent.response.final / .error, agent.tool.result, agent.task.completed.
bool is_terminal_event_type(std::string_view event_type) noexcept;

// Encodes `env` as compact JSON in canonical key order (WIRE.md §1.1, §1.6),
// appending to *out. Fails with CODEC_FAILURE when event_type is empty, payload or a
// metadata value is not valid JSON, or a string is not valid UTF-8. An empty
// occurred_at is written as the current time; an empty event_id as a new UUIDv7.
Status encode_envelope(const Envelope& env, std::string* out);
// Convenience form of encode_envelope.
Result<std::string> encode_envelope(const Envelope& env);

// Decodes one envelope with the leniency rules of WIRE.md §1.5: unknown keys are
// ignored, null means absent, any string is accepted for ids, timestamps with offsets
// are normalised to UTC (an unparsable one becomes empty). Fails with CODEC_FAILURE on
// a body that is not a JSON object, seq that is not a non-negative integer, a
// non-boolean is_final, non-object metadata or a non-integer schema_version.
Result<Envelope> decode_envelope(std::string_view bytes);

// A new lowercase hyphenated RFC 9562 UUIDv7, monotonic within the process.
std::string new_event_id();

using SysNanos = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
// Formats a time exactly as Go formats a UTC time.Time in JSON (WIRE.md §1.4).
std::string format_timestamp(SysNanos t);
// format_timestamp(now).
std::string now_timestamp();
// Parses an RFC 3339 timestamp (fraction optional, Z or ±hh:mm); nullopt if invalid.
std::optional<SysNanos> parse_timestamp(std::string_view text);

// Quotes `s` as a JSON string literal (escaping per RFC 8259), e.g. for metadata values.
std::string json_quote(std::string_view s);
// True if `text` is exactly one valid JSON value (surrounding whitespace allowed).
bool is_valid_json(std::string_view text) noexcept;
// If metadata[key] is a JSON string, its decoded value.
std::optional<std::string> metadata_string(const Metadata& m, std::string_view key);
// If metadata[key] is a JSON integer, its value.
std::optional<std::int64_t> metadata_int(const Metadata& m, std::string_view key);
// If metadata[key] is a JSON boolean, its value.
std::optional<bool> metadata_bool(const Metadata& m, std::string_view key);

// ErrorPayload (WIRE.md §7): {"code","message","retryable"[,"cause"]}.
// Encodes a non-OK status; `cause_json` (an object) is written when non-empty.
std::string encode_error_payload(const Status& status, std::string_view cause_json = {});
// Decodes an ErrorPayload; a missing code becomes AGENT_UNAVAILABLE, a missing message
// "agent error", a missing retryable the code's default. Never fails: a payload that is
// not an object yields AGENT_UNAVAILABLE with the raw text in the message.
Status decode_error_payload(std::string_view payload_json);

}  // namespace oaio
