// MatrixClient: the client-server API v3 calls the bridge makes (login, whoami, join,
// sync, send, typing) over one HttpClient, with the retry policy for writes: HTTP 429
// waits for `retry_after_ms` (body) or Retry-After (header) and retries; 5xx and
// transport errors retry with exponential backoff; other 4xx fail at once.
//
// Secrets: the access token is sent as a bearer header and never put in a URL, a
// log line or an error text.
// THREAD: one MatrixClient per thread (it owns an HttpClient); abort() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "http_client.h"

namespace oaio::matrix {

struct ApiResult {
  long status = 0;           // HTTP status; 0 = transport error / aborted
  nlohmann::json body;       // parsed body (null when not JSON)
  std::string errcode;       // Matrix errcode (M_FORBIDDEN, ...), if any
  std::string error;         // human-readable error (no secrets); empty on success
  bool aborted = false;
  int attempts = 0;          // how many HTTP requests were made
  int rate_limited = 0;      // how many 429s were honoured
  bool ok() const { return status >= 200 && status < 300; }
  // Worth retrying: transport error, 429 or 5xx.
  bool transient() const { return !aborted && (status == 0 || status == 429 || status >= 500); }
};

struct RetryPolicy {
  std::uint32_t max_attempts = 8;
  std::uint32_t initial_backoff_ms = 200;
  std::uint32_t max_backoff_ms = 10000;
};

class MatrixClient {
 public:
  MatrixClient(std::string homeserver_url, std::string access_token, RetryPolicy retry = {});

  void set_access_token(std::string token) { token_ = std::move(token); }
  const std::string& access_token() const { return token_; }

  // One request, no retry. `path` starts with "/_matrix/...".
  ApiResult call(std::string_view method, const std::string& path, const std::string& body, long timeout_ms);
  // With the retry policy above (for idempotent requests: PUTs with a txn id, joins).
  ApiResult call_with_retry(std::string_view method, const std::string& path, const std::string& body,
                            long timeout_ms);

  // POST /login m.login.password; on success sets and returns the token in `*token`.
  ApiResult login_password(const std::string& user_id, const std::string& password, const std::string& device_id,
                           std::string* token);
  ApiResult whoami();
  ApiResult join(const std::string& room_id);
  ApiResult sync(const std::string& since, const std::string& filter_json, std::uint32_t timeout_ms);
  // PUT /rooms/{room}/send/m.room.message/{txn}; the new event id in result.body["event_id"].
  ApiResult send_message(const std::string& room_id, const std::string& txn, const nlohmann::json& content);
  ApiResult typing(const std::string& room_id, const std::string& user_id, bool typing, std::uint32_t timeout_ms);

  void abort() noexcept { http_.abort(); }
  bool aborted() const noexcept { return http_.aborted(); }
  // Sleeps up to `ms`, returning early (false) when aborted.
  bool sleep_ms(std::uint64_t ms);

 private:
  std::string base_;
  std::string token_;
  RetryPolicy retry_;
  HttpClient http_;
};

// The message content the bridge posts: body, msgtype, optional HTML.
nlohmann::json text_content(const std::string& text, const std::string& html, const std::string& msgtype);

}  // namespace oaio::matrix
