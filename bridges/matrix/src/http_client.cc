#include "http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <mutex>

namespace oaio::matrix {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* out) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i]) match = false;
    if (match) {
      std::string value(line.substr(kName.size()));
      char* end = nullptr;
      long seconds = std::strtol(value.c_str(), &end, 10);
      if (end != value.c_str() && seconds >= 0) static_cast<HttpResponse*>(out)->retry_after_ms = seconds * 1000;
    }
  }
  return size * n;
}

}  // namespace

HttpClient::HttpClient() {
  global_init_once();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

int HttpClient::on_progress(void* self, long long, long long, long long, long long) {
  return static_cast<HttpClient*>(self)->aborted_.load() ? 1 : 0;
}

HttpResponse HttpClient::request(std::string_view method, const std::string& url, std::string_view body,
                                 std::string_view bearer, long timeout_ms) {
  HttpResponse out;
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) {
    out.error = "libcurl could not be initialised";
    return out;
  }
  if (aborted_.load()) {
    out.aborted = true;
    out.error = "aborted";
    return out;
  }
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &out);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &HttpClient::on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "oaio-matrix/1.0");

  std::string method_s(method);
  std::string body_s(body);
  if (method_s == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
  } else if (method_s != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_s.c_str());
  }
  if (method_s != "GET") {
    if (body_s.empty()) body_s = "{}";
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body_s.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_s.size()));
  }
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  std::string auth;
  if (!bearer.empty()) {
    auth = "Authorization: Bearer ";
    auth.append(bearer);
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  // Wipe the header text holding the token before the string is freed.
  for (char& ch : auth) ch = '\0';
  if (rc != CURLE_OK) {
    out.aborted = rc == CURLE_ABORTED_BY_CALLBACK;
    out.error = out.aborted ? "aborted" : curl_easy_strerror(rc);
    out.status = 0;
    return out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

std::string url_escape(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

}  // namespace oaio::matrix
