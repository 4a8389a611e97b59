#include "error_map.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

#include "text_util.h"

namespace oaio::sse {
namespace {

using Json = nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string compose(const ErrorContext& ctx, std::string_view what, std::string_view upstream) {
  std::string m = ctx.prefix;
  m.append(what);
  std::string detail = one_line(upstream);
  if (!detail.empty()) {
    m.append(": ");
    m.append(detail);
  }
  return redact(std::move(m), ctx.secrets);
}

std::string as_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::uint32_t parse_retry_after_ms(std::string_view value) {
  std::string v = one_line(value, 100);
  if (v.empty()) return 0;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    if (v.size() > 7) return UINT32_MAX / 1000 * 1000;
    return static_cast<std::uint32_t>(std::stoul(v)) * 1000u;
  }
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return 0;
  time_t now = std::time(nullptr);
  if (when <= now) return 0;
  double ms = static_cast<double>(when - now) * 1000.0;
  return ms > 4e9 ? UINT32_MAX : static_cast<std::uint32_t>(ms);
}

std::string upstream_message(std::string_view body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto it = j.find("error"); it != j.end()) {
      if (it->is_object()) {
        if (auto m = it->find("message"); m != it->end()) return as_text(*m);
        return as_text(*it);
      }
      return as_text(*it);
    }
    for (const char* key : {"message", "detail"})
      if (auto it = j.find(key); it != j.end()) return as_text(*it);
  }
  return std::string(body.substr(0, 1000));
}

Status status_from_http(long http_status, std::string_view body, std::string_view retry_after,
                        const ErrorContext& ctx) {
  std::string what = "HTTP " + std::to_string(http_status);
  std::string upstream = upstream_message(body);
  if (http_status == 401 || http_status == 403) return Status(OAIO_ERR_AUTH, compose(ctx, what, upstream), 0);
  if (http_status == 408) return Status(OAIO_ERR_AGENT_TIMEOUT, compose(ctx, what, upstream), 1);
  if (http_status == 429) {
    std::uint32_t after = parse_retry_after_ms(retry_after);
    return Status(OAIO_ERR_BACKPRESSURE, compose(ctx, what, upstream), 1, after);
  }
  if (http_status == 503)
    return Status(OAIO_ERR_AGENT_UNAVAILABLE, compose(ctx, what, upstream), 1, parse_retry_after_ms(retry_after));
  if (http_status >= 500) return Status(OAIO_ERR_TRANSPORT, compose(ctx, what, upstream), 1);
  if (http_status >= 400) return Status(OAIO_ERR_INVALID_REQUEST, compose(ctx, what, upstream), 0);
  return Status(OAIO_ERR_TRANSPORT, compose(ctx, "unexpected " + what, upstream), 1);
}

Status status_from_curl(CURLcode code, std::string_view curl_message, const ErrorContext& ctx) {
  std::string detail(curl_message.empty() ? std::string_view(curl_easy_strerror(code)) : curl_message);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status(OAIO_ERR_AGENT_TIMEOUT, compose(ctx, "timed out", detail), 1);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Status(OAIO_ERR_AGENT_UNAVAILABLE, compose(ctx, "cannot connect", detail), 1);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status(OAIO_ERR_INVALID_REQUEST, compose(ctx, "bad URL", detail), 0);
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
      return Status(OAIO_ERR_TRANSPORT, compose(ctx, "TLS failure", detail), 0);
    default:
      return Status(OAIO_ERR_TRANSPORT, compose(ctx, "connection failure", detail), 1);
  }
}

Status status_from_stream_error(const Json& error, const ErrorContext& ctx) {
  std::string message, code, type;
  long status = 0;
  if (error.is_object()) {
    if (auto it = error.find("message"); it != error.end()) message = as_text(*it);
    if (auto it = error.find("code"); it != error.end()) code = as_text(*it);
    if (auto it = error.find("type"); it != error.end()) type = as_text(*it);
    for (const char* key : {"status", "status_code", "code"}) {
      auto it = error.find(key);
      if (it != error.end() && it->is_number_integer()) status = it->get<long>();
    }
  } else {
    message = as_text(error);
  }
  std::string detail = code.empty() ? message : "[" + code + "] " + message;
  std::string what = "error in the stream";
  std::string text = lower(code + " " + type + " " + message);
  auto has = [&](std::initializer_list<const char*> words) {
    for (const char* w : words)
      if (text.find(w) != std::string::npos) return true;
    return false;
  };
  if (status == 401 || status == 403 || has({"auth", "permission", "unauthorized", "forbidden", "api key", "api_key"}))
    return Status(OAIO_ERR_AUTH, compose(ctx, what, detail), 0);
  if (status == 429 || has({"rate_limit", "rate limit", "quota", "overloaded"}))
    return Status(OAIO_ERR_BACKPRESSURE, compose(ctx, what, detail), 1);
  if ((status >= 400 && status < 500) || has({"invalid", "validation", "bad_request", "context_length"}))
    return Status(OAIO_ERR_INVALID_REQUEST, compose(ctx, what, detail), 0);
  return Status(OAIO_ERR_AGENT_UNAVAILABLE, compose(ctx, what, detail), 1);
}

bool is_retryable(const Status& s) {
  if (s.retryable() == 0) return false;
  switch (s.code()) {
    case OAIO_ERR_BACKPRESSURE:
    case OAIO_ERR_TRANSPORT:
    case OAIO_ERR_AGENT_UNAVAILABLE:
      return true;
    default:
      return false;
  }
}

}  // namespace oaio::sse
