// HttpClient: a small blocking HTTP/1.1 client over one libcurl easy handle, for the
// Matrix client-server API (JSON in, JSON out).
//
// A request can be aborted from another thread with abort(): the long-poll /sync and
// the retry sleeps of the bridge must end promptly when the bridge stops.
//
// Secrets: the access token travels in the Authorization header only; nothing here
// logs, and errors never include headers.
//
// THREAD: one HttpClient per thread (a libcurl easy handle is not thread-safe);
// abort() alone may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace oaio::matrix {

struct HttpResponse {
  long status = 0;          // HTTP status; 0 = no response (transport error)
  std::string body;         // response body
  std::string error;        // transport error text when status == 0 (no secrets)
  bool aborted = false;     // abort() interrupted the request
  long retry_after_ms = -1; // from a Retry-After header, -1 = none
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `method` is GET, POST or PUT. `body` is sent as application/json when non-empty
  // (or for POST/PUT). `bearer` empty = no Authorization header.
  HttpResponse request(std::string_view method, const std::string& url, std::string_view body,
                       std::string_view bearer, long timeout_ms);

  // Makes the running request (and every later one until reset_abort) fail at once.
  void abort() noexcept { aborted_.store(true); }
  void reset_abort() noexcept { aborted_.store(false); }
  bool aborted() const noexcept { return aborted_.load(); }

 private:
  static int on_progress(void* self, long long, long long, long long, long long);
  void* curl_ = nullptr;
  std::atomic<bool> aborted_{false};
};

// Percent-encodes a path segment or query value (RFC 3986 unreserved kept).
std::string url_escape(std::string_view s);

}  // namespace oaio::matrix
