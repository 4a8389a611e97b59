// Status: the one error type of OpenAgentIO. It carries an ACP/1.0 error code
// (WIRE.md §7), a human-readable message and a retryable flag, so an error can
// travel unchanged from a transport callback to an ErrorPayload on the wire or
// an HTTP status at the gateway.
//
// Thread-safety: a Status is an immutable value once built; const methods may be
// called from any number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace oaio {

// The eight ACP error codes plus kOk. kUnknown stands for any other code text a
// peer sent (for example INTERNAL_ERROR from a reference HTTP middleware); the
// original text is kept in Status::code_text().
enum class ErrorCode : std::uint8_t {
  kOk = 0,
  kAgentTimeout,      // deadline or idle timeout; retryable
  kAgentUnavailable,  // handler failure, unexpected error
  kBackpressureDrop,  // client reorder buffer overflow; retryable
  kTransportFailure,  // connection or publish failure; retryable
  kCodecFailure,      // encode or decode failure
  kAuthFailure,       // authentication or authorisation failure
  kInvalidRequest,    // malformed or invalid input
  kNoHandler,         // no handler serves the target
  kUnknown,           // a code outside the ACP set, received from a peer
};

// "AGENT_TIMEOUT", ...; "OK" for kOk and "UNKNOWN" for kUnknown.
std::string_view error_code_name(ErrorCode code) noexcept;
// The inverse of error_code_name for the eight ACP codes; anything else -> kUnknown.
ErrorCode error_code_from_name(std::string_view name) noexcept;
// WIRE.md §7 defaults: true for AGENT_TIMEOUT, BACKPRESSURE_DROP, TRANSPORT_FAILURE.
bool default_retryable(ErrorCode code) noexcept;
// WIRE.md §7 HTTP mapping (504, 502, 429, 502, 500, 401, 400, 404; 500 otherwise; 200 for kOk).
int http_status_for(ErrorCode code) noexcept;

class [[nodiscard]] Status {
 public:
  // An OK status. Cheap: no allocation.
  Status() = default;
  // An error. `retryable` defaults to default_retryable(code).
  Status(ErrorCode code, std::string message, std::optional<bool> retryable = std::nullopt);
  // An error with a code outside the ACP set, as received from a peer.
  static Status unknown_code(std::string code_text, std::string message, bool retryable);

  static Status ok_status() { return Status(); }
  static Status timeout(std::string m) { return Status(ErrorCode::kAgentTimeout, std::move(m)); }
  static Status unavailable(std::string m) { return Status(ErrorCode::kAgentUnavailable, std::move(m)); }
  static Status backpressure(std::string m) { return Status(ErrorCode::kBackpressureDrop, std::move(m)); }
  static Status transport(std::string m) { return Status(ErrorCode::kTransportFailure, std::move(m)); }
  static Status codec(std::string m) { return Status(ErrorCode::kCodecFailure, std::move(m)); }
  static Status auth(std::string m) { return Status(ErrorCode::kAuthFailure, std::move(m)); }
  static Status invalid(std::string m) { return Status(ErrorCode::kInvalidRequest, std::move(m)); }
  static Status no_handler(std::string m) { return Status(ErrorCode::kNoHandler, std::move(m)); }

  bool ok() const noexcept { return code_ == ErrorCode::kOk; }
  ErrorCode code() const noexcept { return code_; }
  // The wire name of the code: error_code_name(code()), or the peer's own text for kUnknown.
  std::string_view code_name() const noexcept;
  const std::string& message() const noexcept { return message_; }
  bool retryable() const noexcept { return retryable_; }
  // "CODE: message", or "OK".
  std::string to_string() const;

  // Returns a copy whose message is "<prefix>: <message>"; code and retryable kept.
  Status with_prefix(std::string_view prefix) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  bool retryable_ = false;
  std::string message_;
  std::string code_text_;  // only for kUnknown
};

bool operator==(const Status& a, const Status& b);

// Evaluates `expr` (a Status); returns it from the enclosing function when not OK.
#define OAIO_RETURN_IF_ERROR(expr)                  \
  do {                                              \
    ::oaio::Status oaio_status_tmp_ = (expr);       \
    if (!oaio_status_tmp_.ok()) return oaio_status_tmp_; \
  } while (0)

}  // namespace oaio
