// ErrorPayload (WIRE.md §7): {"code","message","retryable"[,"cause"]}, written in the
// Go SDK's field order and read leniently (extra keys, "cause":{}, unknown codes).
#include <optional>
#include <string>
#include <string_view>

#include "json_scan.h"
#include "json_write.h"
#include "oaio/envelope.h"

namespace oaio {
namespace {

constexpr std::string_view kDefaultMessage = "agent error";

// True if `json` is an object with at least one member. Anything else (empty text,
// "{}", a non-object, invalid JSON) is not worth a "cause" key. The depth check
// counts the two levels around "cause" once the ErrorPayload is an envelope's
// payload, so the result can always be sent.
bool is_non_empty_object(std::string_view json) {
  detail::JsonScanner s(json, 2);
  if (s.peek_kind() != detail::JsonKind::kObject) return false;
  if (!s.skip_value() || !s.at_end()) return false;
  detail::JsonScanner again(json);
  again.begin_object();
  std::string_view key;
  std::string scratch;
  return again.next_member(&key, &scratch);
}

}  // namespace

std::string encode_error_payload(const Status& status, std::string_view cause_json) {
  // Encoders MUST use only the eight ACP codes (WIRE.md §7): a peer's foreign code, or
  // an OK status passed by mistake, goes out as the catch-all AGENT_UNAVAILABLE.
  const bool acp_code = status.code() != ErrorCode::kOk && status.code() != ErrorCode::kUnknown;
  const std::string_view code = acp_code ? status.code_name() : error_code_name(ErrorCode::kAgentUnavailable);
  const std::string_view message = status.message().empty() ? kDefaultMessage : std::string_view(status.message());

  std::string out;
  out.reserve(64 + message.size() + cause_json.size());
  out.append(R"({"code":)");
  detail::append_json_string(code, &out);
  out.append(R"(,"message":)");
  // Error text may come from anywhere (exception what(), peer text): never fail on it.
  detail::append_json_string(message, &out, detail::BadUtf8::kReplace);
  out.append(status.retryable() ? R"(,"retryable":true)" : R"(,"retryable":false)");
  if (is_non_empty_object(cause_json)) {
    out.append(R"(,"cause":)");
    out.append(cause_json);
  }
  out.push_back('}');
  return out;
}

Status decode_error_payload(std::string_view payload_json) {
  detail::JsonScanner s(payload_json);
  std::string code;
  std::string message;
  std::optional<bool> retryable;
  bool ok = s.peek_kind() == detail::JsonKind::kObject && s.begin_object();
  if (ok) {
    std::string_view key;
    std::string scratch;
    while (ok && s.next_member(&key, &scratch)) {
      const detail::JsonKind kind = s.peek_kind();
      if (key == "code" && kind == detail::JsonKind::kString) {
        ok = s.read_string(&code);
      } else if (key == "message" && kind == detail::JsonKind::kString) {
        ok = s.read_string(&message);
      } else if (key == "retryable" && kind == detail::JsonKind::kTrue) {
        ok = s.read_literal("true");
        retryable = true;
      } else if (key == "retryable" && kind == detail::JsonKind::kFalse) {
        ok = s.read_literal("false");
        retryable = false;
      } else {
        ok = s.skip_value();  // cause, extra keys, or a known key of the wrong type
      }
    }
    ok = ok && !s.failed() && s.at_end();
  }
  if (!ok) {
    // Not an ErrorPayload at all: keep whatever the peer sent so it can be logged.
    std::string text = payload_json.empty() ? std::string(kDefaultMessage) : std::string(payload_json);
    return Status(ErrorCode::kAgentUnavailable, std::move(text));
  }
  if (message.empty()) message = kDefaultMessage;
  if (code.empty()) return Status(ErrorCode::kAgentUnavailable, std::move(message), retryable);
  const ErrorCode ec = error_code_from_name(code);
  if (ec == ErrorCode::kUnknown) {
    // Unknown codes are kept verbatim and are not retryable unless the peer says so.
    return Status::unknown_code(std::move(code), std::move(message), retryable.value_or(false));
  }
  return Status(ec, std::move(message), retryable);
}

}  // namespace oaio
