#include "gateway_wire.h"

#include <nlohmann/json.hpp>

namespace oaio::host::gateway_wire {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Compares without an early exit, so the time taken does not reveal the matching prefix.
bool constant_time_equals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// A value for an SSE field line: CR and LF would end the line early.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '\n' && c != '\r') out.push_back(c);
  return out;
}

std::string message_or(const Status& s, std::string_view fallback) {
  return s.message().empty() ? std::string(fallback) : s.message();
}

}  // namespace

bool bearer_matches(std::string_view authorization, std::string_view expected) {
  const std::size_t sp = authorization.find(' ');
  if (sp == std::string_view::npos || !iequals(authorization.substr(0, sp), "bearer")) return false;
  std::string_view token = authorization.substr(sp + 1);
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty() || expected.empty()) return false;
  return constant_time_equals(token, expected);
}

HttpError map_bus_error(const Status& failure) {
  switch (failure.code()) {
    case ErrorCode::kAgentTimeout:
      return {504, Status(ErrorCode::kAgentTimeout, message_or(failure, "agent timed out"), true)};
    case ErrorCode::kNoHandler:
      return {404, Status(ErrorCode::kNoHandler, message_or(failure, "no handler for the target"), false)};
    case ErrorCode::kInvalidRequest:
      // The transport refuses a body over max_payload with INVALID_REQUEST; the gateway
      // checks the size first, so this only catches a request it measured too small.
      if (failure.message().find("max_payload") != std::string::npos)
        return {413, Status(ErrorCode::kInvalidRequest, failure.message(), false)};
      return {400, Status(ErrorCode::kInvalidRequest, message_or(failure, "invalid request"), false)};
    default:
      return {502, Status(ErrorCode::kAgentUnavailable, failure.to_string(), false)};
  }
}

ErrorReply error_reply(std::string_view payload_json) {
  const Status status = decode_error_payload(payload_json);
  ErrorReply out;
  out.status = http_status_for(status.code());
  out.code = std::string(status.code_name());

  auto j = nlohmann::ordered_json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) j = nlohmann::ordered_json::object();
  auto non_empty_string = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
  };
  auto boolean = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_boolean();
  };
  if (non_empty_string("code") && non_empty_string("message") && boolean("retryable")) {
    out.body = std::string(payload_json);  // complete: the agent's own bytes
    return out;
  }
  // Rebuild in the canonical key order, keeping the fields that were there.
  nlohmann::ordered_json fixed = nlohmann::ordered_json::object();
  fixed["code"] = non_empty_string("code") ? j["code"] : nlohmann::ordered_json("AGENT_UNAVAILABLE");
  fixed["message"] = non_empty_string("message") ? j["message"] : nlohmann::ordered_json("agent error");
  fixed["retryable"] = boolean("retryable") ? j["retryable"] : nlohmann::ordered_json(status.retryable());
  for (const auto& [key, value] : j.items())
    if (key != "code" && key != "message" && key != "retryable") fixed[key] = value;
  out.body = fixed.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return out;
}

std::size_t request_wire_size(Bus& bus, std::string_view target, Envelope request, bool stream,
                              std::chrono::milliseconds heartbeat) {
  const BusOptions& bo = bus.options();
  if (request.from.empty()) request.from = bo.agent_id;
  if (request.to.empty()) request.to = std::string(target);
  if (request.tenant_id.empty()) request.tenant_id = bo.tenant;
  request.reply_to = bus.transport().new_inbox();
  if (stream) {
    request.metadata[std::string(meta_key::kStream)] = "true";
    request.metadata[std::string(meta_key::kCancel)] = "true";
    const auto hb = heartbeat.count();
    if (hb >= 250 && hb <= 60000) request.metadata[std::string(meta_key::kHeartbeatMs)] = std::to_string(hb);
  }
  auto bytes = encode_envelope(request);
  return bytes.ok() ? bytes.value().size() : 0;
}

std::string compact_json(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::string> sse_event(const Envelope& frame, std::chrono::milliseconds retry) {
  auto json = encode_envelope(frame);
  if (!json.ok()) return json.status();
  std::string out;
  out.reserve(json.value().size() + 96);
  out += "event: ";
  out += one_line(frame.event_type);
  out += '\n';
  if (!frame.event_id.empty()) {
    out += "id: ";
    out += one_line(frame.event_id);
    out += '\n';
  }
  if (retry.count() > 0) {
    out += "retry: ";
    out += std::to_string(retry.count());
    out += '\n';
  }
  out += "data: ";
  out += compact_json(json.value());
  out += "\n\n";
  return out;
}

Status synthetic_error(const Status& failure) {
  switch (failure.code()) {
    case ErrorCode::kAgentTimeout:
      return Status(ErrorCode::kAgentTimeout, message_or(failure, "stream timed out"), true);
    case ErrorCode::kBackpressureDrop:
      return Status(ErrorCode::kBackpressureDrop, message_or(failure, "stream overflowed"), true);
    case ErrorCode::kAgentUnavailable:
      return Status(ErrorCode::kAgentUnavailable, message_or(failure, "stream failed"), false);
    case ErrorCode::kOk:
      return Status(ErrorCode::kAgentUnavailable, "stream ended without a final frame", false);
    default:
      return Status(ErrorCode::kAgentUnavailable, failure.to_string(), false);
  }
}

Envelope synthetic_error_frame(const Status& failure, std::string_view request_id) {
  Envelope e = make_envelope(event_type::kResponseError, encode_error_payload(synthetic_error(failure)));
  e.frame_type = std::string(canonical_frame_type(event_type::kResponseError));
  e.is_final = true;
  e.correlation_id = std::string(request_id);
  return e;
}

}  // namespace oaio::host::gateway_wire
