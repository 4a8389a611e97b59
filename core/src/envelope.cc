// Envelope helpers: construction, frame types (WIRE.md §2), JSON text utilities and
// metadata accessors. The codec itself is in envelope_encode.cc / envelope_decode.cc.
#include "oaio/envelope.h"

#include <array>
#include <utility>

#include "json_scan.h"
#include "json_write.h"

namespace oaio {
namespace {

struct FrameMapping {
  std::string_view event_type;
  std::string_view frame_type;
};

// WIRE.md §2. agent.task.* and the extension types have no canonical frame type.
constexpr std::array<FrameMapping, 7> kFrameTypes{{
    {event_type::kMessageReceived, "request"},
    {event_type::kResponseStarted, "response.started"},
    {event_type::kResponseDelta, "response.delta"},
    {event_type::kResponseFinal, "response.final"},
    {event_type::kResponseError, "response.error"},
    {event_type::kToolCall, "tool.call"},
    {event_type::kToolResult, "tool.result"},
}};

}  // namespace

Envelope make_envelope(std::string_view type, std::string payload_json) {
  Envelope env;
  env.event_id = new_event_id();
  env.event_type = std::string(type);
  env.occurred_at = now_timestamp();
  env.payload = std::move(payload_json);
  return env;
}

std::string_view canonical_frame_type(std::string_view type) noexcept {
  for (const auto& m : kFrameTypes) {
    if (m.event_type == type) return m.frame_type;
  }
  return {};
}

std::string_view effective_frame_type(const Envelope& env) noexcept {
  std::string_view canonical = canonical_frame_type(env.event_type);
  return canonical.empty() ? std::string_view(env.frame_type) : canonical;
}

bool is_terminal_event_type(std::string_view type) noexcept {
  return type == event_type::kResponseFinal || type == event_type::kResponseError ||
         type == event_type::kToolResult || type == event_type::kTaskCompleted;
}

std::string json_quote(std::string_view s) {
  std::string out;
  // kReplace cannot fail: bad bytes become U+FFFD, so the result is always valid JSON.
  (void)detail::append_json_string(s, &out, detail::BadUtf8::kReplace);
  return out;
}

bool is_valid_json(std::string_view text) noexcept { return detail::is_valid_json_text(text); }

std::optional<std::string> metadata_string(const Metadata& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  detail::JsonScanner s(it->second);
  std::string out;
  if (s.peek_kind() != detail::JsonKind::kString || !s.read_string(&out) || !s.at_end()) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::int64_t> metadata_int(const Metadata& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  detail::JsonScanner s(it->second);
  detail::JsonNumber num;
  std::int64_t v = 0;
  if (s.peek_kind() != detail::JsonKind::kNumber || !s.read_number(&num) || !s.at_end() ||
      !num.is_integer() || !detail::parse_int64(num.text, &v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<bool> metadata_bool(const Metadata& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  detail::JsonScanner s(it->second);
  const detail::JsonKind kind = s.peek_kind();
  if (kind == detail::JsonKind::kTrue && s.read_literal("true") && s.at_end()) return true;
  if (kind == detail::JsonKind::kFalse && s.read_literal("false") && s.at_end()) return false;
  return std::nullopt;
}

}  // namespace oaio
