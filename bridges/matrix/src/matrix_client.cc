#include "matrix_client.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace oaio::matrix {

using Json = nlohmann::json;

MatrixClient::MatrixClient(std::string homeserver_url, std::string access_token, RetryPolicy retry)
    : base_(std::move(homeserver_url)), token_(std::move(access_token)), retry_(retry) {}

ApiResult MatrixClient::call(std::string_view method, const std::string& path, const std::string& body,
                             long timeout_ms) {
  ApiResult r;
  HttpResponse h = http_.request(method, base_ + path, body, token_, timeout_ms);
  r.attempts = 1;
  r.status = h.status;
  r.aborted = h.aborted;
  if (h.status == 0) {
    r.error = h.error.empty() ? "no response" : h.error;
    return r;
  }
  r.body = Json::parse(h.body, nullptr, false);
  if (r.body.is_discarded()) r.body = Json();
  if (!r.ok()) {
    if (r.body.is_object()) {
      r.errcode = r.body.value("errcode", std::string());
      r.error = r.body.value("error", std::string());
    }
    if (r.error.empty()) r.error = "HTTP " + std::to_string(h.status);
    if (r.status == 429) {
      long wait = -1;
      if (r.body.is_object() && r.body.contains("retry_after_ms") && r.body["retry_after_ms"].is_number())
        wait = r.body["retry_after_ms"].get<long>();
      if (wait < 0) wait = h.retry_after_ms;
      r.body = Json{{"retry_after_ms", wait}};
    }
  }
  return r;
}

bool MatrixClient::sleep_ms(std::uint64_t ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (http_.aborted()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !http_.aborted();
}

ApiResult MatrixClient::call_with_retry(std::string_view method, const std::string& path, const std::string& body,
                                        long timeout_ms) {
  std::uint64_t backoff = retry_.initial_backoff_ms;
  int attempts = 0, rate_limited = 0;
  while (true) {
    ApiResult r = call(method, path, body, timeout_ms);
    r.attempts = ++attempts;
    if (r.status == 429) ++rate_limited;
    r.rate_limited = rate_limited;
    if (!r.transient() || static_cast<std::uint32_t>(attempts) >= retry_.max_attempts) return r;
    std::uint64_t wait = backoff;
    if (r.status == 429) {
      long hint = r.body.is_object() ? r.body.value("retry_after_ms", -1L) : -1L;
      // The server's hint is honoured as given (plus a little slack), not capped.
      wait = hint >= 0 ? static_cast<std::uint64_t>(hint) + 20 : backoff;
    } else {
      backoff = std::min<std::uint64_t>(backoff * 2, retry_.max_backoff_ms);
    }
    if (!sleep_ms(wait)) {
      r.aborted = true;
      return r;
    }
  }
}

ApiResult MatrixClient::login_password(const std::string& user_id, const std::string& password,
                                       const std::string& device_id, std::string* token) {
  Json req = {{"type", "m.login.password"},
              {"identifier", {{"type", "m.id.user"}, {"user", user_id}}},
              {"password", password},
              {"initial_device_display_name", "OpenAgentIO matrix bridge"}};
  if (!device_id.empty()) req["device_id"] = device_id;
  std::string saved = token_;
  token_.clear();  // no bearer on /login
  ApiResult r = call_with_retry("POST", "/_matrix/client/v3/login", req.dump(), 30000);
  token_ = saved;
  if (r.ok() && r.body.is_object() && r.body.contains("access_token") && r.body["access_token"].is_string()) {
    token_ = r.body["access_token"].get<std::string>();
    if (token != nullptr) *token = token_;
    r.body.erase("access_token");  // keep the secret out of anything that might print the body
  } else if (r.ok()) {
    r.status = 0;
    r.error = "login response has no access_token";
  }
  return r;
}

ApiResult MatrixClient::whoami() { return call("GET", "/_matrix/client/v3/account/whoami", "", 30000); }

ApiResult MatrixClient::join(const std::string& room_id) {
  return call_with_retry("POST", "/_matrix/client/v3/join/" + url_escape(room_id), "{}", 30000);
}

ApiResult MatrixClient::sync(const std::string& since, const std::string& filter_json, std::uint32_t timeout_ms) {
  std::string path = "/_matrix/client/v3/sync?timeout=" + std::to_string(timeout_ms);
  if (!filter_json.empty()) path += "&filter=" + url_escape(filter_json);
  if (!since.empty()) path += "&since=" + url_escape(since);
  return call("GET", path, "", static_cast<long>(timeout_ms) + 30000);
}

ApiResult MatrixClient::send_message(const std::string& room_id, const std::string& txn, const Json& content) {
  return call_with_retry("PUT",
                         "/_matrix/client/v3/rooms/" + url_escape(room_id) + "/send/m.room.message/" + url_escape(txn),
                         content.dump(-1, ' ', false, Json::error_handler_t::replace), 30000);
}

ApiResult MatrixClient::typing(const std::string& room_id, const std::string& user_id, bool typing,
                               std::uint32_t timeout_ms) {
  Json body = {{"typing", typing}};
  if (typing) body["timeout"] = timeout_ms;
  return call("PUT", "/_matrix/client/v3/rooms/" + url_escape(room_id) + "/typing/" + url_escape(user_id),
              body.dump(), 10000);
}

Json text_content(const std::string& text, const std::string& html, const std::string& msgtype) {
  Json c = {{"msgtype", msgtype}, {"body", text}};
  if (!html.empty()) {
    c["format"] = "org.matrix.custom.html";
    c["formatted_body"] = html;
  }
  return c;
}

}  // namespace oaio::matrix
