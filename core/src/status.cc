// Status: ACP error codes, their names, defaults and HTTP statuses (WIRE.md §7).
#include "oaio/status.h"

#include <array>

namespace oaio {
namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  bool retryable;
  int http;
};

constexpr std::array<CodeInfo, 10> kCodes{{
    {ErrorCode::kOk, "OK", false, 200},
    {ErrorCode::kAgentTimeout, "AGENT_TIMEOUT", true, 504},
    {ErrorCode::kAgentUnavailable, "AGENT_UNAVAILABLE", false, 502},
    {ErrorCode::kBackpressureDrop, "BACKPRESSURE_DROP", true, 429},
    {ErrorCode::kTransportFailure, "TRANSPORT_FAILURE", true, 502},
    {ErrorCode::kCodecFailure, "CODEC_FAILURE", false, 500},
    {ErrorCode::kAuthFailure, "AUTH_FAILURE", false, 401},
    {ErrorCode::kInvalidRequest, "INVALID_REQUEST", false, 400},
    {ErrorCode::kNoHandler, "NO_HANDLER", false, 404},
    {ErrorCode::kUnknown, "UNKNOWN", false, 500},
}};

const CodeInfo& info(ErrorCode code) { return kCodes[static_cast<std::size_t>(code)]; }

}  // namespace

std::string_view error_code_name(ErrorCode code) noexcept { return info(code).name; }

ErrorCode error_code_from_name(std::string_view name) noexcept {
  for (const auto& c : kCodes) {
    if (c.code != ErrorCode::kOk && c.code != ErrorCode::kUnknown && c.name == name) return c.code;
  }
  return ErrorCode::kUnknown;
}

bool default_retryable(ErrorCode code) noexcept { return info(code).retryable; }
int http_status_for(ErrorCode code) noexcept { return info(code).http; }

Status::Status(ErrorCode code, std::string message, std::optional<bool> retryable)
    : code_(code), retryable_(retryable.value_or(default_retryable(code))), message_(std::move(message)) {}

Status Status::unknown_code(std::string code_text, std::string message, bool retryable) {
  Status s(ErrorCode::kUnknown, std::move(message), retryable);
  s.code_text_ = std::move(code_text);
  return s;
}

std::string_view Status::code_name() const noexcept {
  if (code_ == ErrorCode::kUnknown && !code_text_.empty()) return code_text_;
  return error_code_name(code_);
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  std::string out(code_name());
  out += ": ";
  out += message_;
  return out;
}

Status Status::with_prefix(std::string_view prefix) const {
  Status s = *this;
  s.message_ = std::string(prefix) + ": " + message_;
  return s;
}

bool operator==(const Status& a, const Status& b) {
  return a.code() == b.code() && a.code_name() == b.code_name() && a.message() == b.message() &&
         a.retryable() == b.retryable();
}

}  // namespace oaio
