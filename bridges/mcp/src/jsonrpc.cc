#include "jsonrpc.h"

#include <algorithm>
#include <cctype>

namespace oaio::mcp {
namespace {

constexpr std::size_t kSniffBytes = 256;

bool valid_id(const Json& id) { return id.is_number_integer() || id.is_string(); }

// Takes the parts it keeps (params, id, result, error data) out of `j`.
std::optional<Message> decode_one(Json& j, std::string* error) {
  if (!j.is_object()) {
    *error = "message is not a JSON object";
    return std::nullopt;
  }
  auto v = j.find("jsonrpc");
  if (v == j.end() || !v->is_string() || v->get<std::string>() != "2.0") {
    *error = "message lacks \"jsonrpc\":\"2.0\"";
    return std::nullopt;
  }
  Message m;
  auto method = j.find("method");
  auto id = j.find("id");
  if (method != j.end()) {
    if (!method->is_string()) {
      *error = "\"method\" is not a string";
      return std::nullopt;
    }
    m.method = method->get<std::string>();
    auto params = j.find("params");
    if (params != j.end()) {
      if (!params->is_object() && !params->is_array()) {
        *error = "\"params\" is neither an object nor an array";
        return std::nullopt;
      }
      m.params = std::move(*params);
    }
    if (id == j.end()) {
      m.kind = MessageKind::kNotification;
      return m;
    }
    if (!valid_id(*id)) {
      *error = "request \"id\" is neither an integer nor a string";
      return std::nullopt;
    }
    m.kind = MessageKind::kRequest;
    m.id = std::move(*id);
    return m;
  }
  if (id == j.end() || !(valid_id(*id) || id->is_null())) {
    *error = "response without a usable \"id\"";
    return std::nullopt;
  }
  m.id = std::move(*id);
  auto result = j.find("result");
  auto err = j.find("error");
  if (result != j.end() && err == j.end()) {
    m.kind = MessageKind::kResult;
    m.result = std::move(*result);
    return m;
  }
  if (err != j.end() && result == j.end() && err->is_object()) {
    auto code = err->find("code");
    if (code == err->end() || !code->is_number_integer()) {
      *error = "error response without an integer \"code\"";
      return std::nullopt;
    }
    m.kind = MessageKind::kError;
    m.error_code = code->get<int>();
    auto msg = err->find("message");
    if (msg != err->end() && msg->is_string()) m.error_message = msg->get<std::string>();
    auto data = err->find("data");
    if (data != err->end()) m.error_data = std::move(*data);
    return m;
  }
  *error = "response needs exactly one of \"result\" and \"error\"";
  return std::nullopt;
}

}  // namespace

std::vector<Message> parse_frame(std::string_view text, std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  std::vector<Message> out;
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    *error = "not valid JSON (" + std::to_string(text.size()) + " bytes)";
    return out;
  }
  if (j.is_array()) {
    if (j.empty()) {
      *error = "empty batch";
      return out;
    }
    for (Json& item : j) {
      auto m = decode_one(item, error);
      if (!m) {
        out.clear();
        return out;
      }
      out.push_back(std::move(*m));
    }
    return out;
  }
  auto m = decode_one(j, error);
  if (m) out.push_back(std::move(*m));
  return out;
}

namespace {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// One JSON-RPC 2.0 message: {"jsonrpc":"2.0"} with `members` (name, value already
// serialised; an empty value leaves the member out) appended in order. Written around
// the values' own dumps because building a Json object first deep-copies them: a
// tools/call request took ~17 k instructions that way, more than half of it copying.
std::string message(std::initializer_list<std::pair<std::string_view, std::string>> members) {
  std::size_t size = 20;
  for (const auto& [name, value] : members) size += name.size() + value.size() + 4;
  std::string out;
  out.reserve(size);
  out += R"({"jsonrpc":"2.0")";
  for (const auto& [name, value] : members) {
    if (value.empty()) continue;
    out += ",\"";
    out += name;  // a constant member name, nothing to escape
    out += "\":";
    out += value;
  }
  out += '}';
  return out;
}

// Serialised params, or "" (left out) when there are none.
std::string params_text(const Json& params) { return params.is_null() ? std::string() : dump(params); }

}  // namespace

std::string make_request(int64_t id, std::string_view method, const Json& params) {
  return message({{"id", std::to_string(id)}, {"method", dump(std::string(method))}, {"params", params_text(params)}});
}

std::string make_notification(std::string_view method, const Json& params) {
  return message({{"method", dump(std::string(method))}, {"params", params_text(params)}});
}

std::string make_result(const Json& id, const Json& result) {
  return message({{"id", dump(id)}, {"result", dump(result)}});
}

std::string make_error(const Json& id, int code, std::string_view message_text) {
  return message({{"id", dump(id)}, {"error", dump(Json{{"code", code}, {"message", std::string(message_text)}})}});
}

std::optional<int64_t> sniff_id(std::string_view head, std::string_view tail) {
  for (std::string_view s : {head, tail}) {
    std::size_t pos = 0;
    while ((pos = s.find("\"id\"", pos)) != std::string_view::npos) {
      std::size_t i = pos + 4;
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size() && s[i] == ':') {
        ++i;
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        std::size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < 18) ++i;
        if (i > start && (i == s.size() || s[i] == ',' || s[i] == '}' || std::isspace(static_cast<unsigned char>(s[i]))))
          return std::stoll(std::string(s.substr(start, i - start)));
      }
      pos += 4;
    }
  }
  return std::nullopt;
}

// ---- LineSplitter --------------------------------------------------------------------

LineSplitter::LineSplitter(std::size_t max_line, LineFn on_line, OversizedFn on_oversized)
    : max_line_(max_line), on_line_(std::move(on_line)), on_oversized_(std::move(on_oversized)) {}

void LineSplitter::feed(std::string_view data) {
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    std::string_view part = nl == std::string_view::npos ? data : data.substr(0, nl);
    if (oversized_) {
      skipped_ += part.size();
      tail_.append(part);
      if (tail_.size() > kSniffBytes) tail_.erase(0, tail_.size() - kSniffBytes);
    } else if (buf_.size() + part.size() > max_line_) {
      oversized_ = true;
      buf_.append(part);
      head_ = buf_.substr(0, kSniffBytes);
      tail_ = buf_.substr(buf_.size() > kSniffBytes ? buf_.size() - kSniffBytes : 0);
      skipped_ = buf_.size();
      std::string().swap(buf_);
    } else {
      buf_.append(part);
    }
    if (nl == std::string_view::npos) return;
    finish_line();
    data.remove_prefix(nl + 1);
  }
}

void LineSplitter::finish_line() {
  if (oversized_) {
    if (on_oversized_) on_oversized_(head_, tail_, skipped_);
    oversized_ = false;
    skipped_ = 0;
    head_.clear();
    tail_.clear();
    return;
  }
  std::string_view line(buf_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
  if (!blank && on_line_) on_line_(line);
  buf_.clear();
}

// ---- SseParser -----------------------------------------------------------------------

SseParser::SseParser(std::size_t max_event, EventFn on_event, ErrorFn on_error)
    : max_event_(max_event), on_event_(std::move(on_event)), on_error_(std::move(on_error)) {}

void SseParser::feed(std::string_view data) {
  for (std::size_t i = 0; i < data.size();) {
    char c = data[i];
    if (c == '\n' && last_was_cr_) {  // the '\n' of a "\r\n" pair
      last_was_cr_ = false;
      ++i;
      continue;
    }
    last_was_cr_ = false;
    if (c == '\r' || c == '\n') {
      last_was_cr_ = c == '\r';
      line(buf_);
      buf_.clear();
      ++i;
      continue;
    }
    std::size_t end = data.find_first_of("\r\n", i);
    std::string_view chunk = data.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (buf_.size() + chunk.size() + data_.size() > max_event_) {
      too_big_ = true;  // keep parsing lines, drop the content
    } else {
      buf_.append(chunk);
    }
    i += chunk.size();
  }
}

void SseParser::finish() {
  if (!buf_.empty()) {
    line(buf_);
    buf_.clear();
  }
  if (has_data_ || too_big_) dispatch();
}

void SseParser::line(std::string_view l) {
  if (l.empty()) {
    dispatch();
    return;
  }
  if (l.front() == ':') return;  // comment / keep-alive
  std::size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  } else if (field == "retry") {
    if (!value.empty() && value.size() < 10 && value.find_first_not_of("0123456789") == std::string_view::npos)
      retry_ms_ = std::stol(std::string(value));
  }
  if (data_.size() > max_event_) {
    too_big_ = true;
    data_.clear();
  }
}

void SseParser::dispatch() {
  if (too_big_) {
    if (on_error_) on_error_("SSE event larger than " + std::to_string(max_event_) + " bytes dropped");
  } else if (has_data_ && on_event_) {
    on_event_(event_.empty() ? std::string_view("message") : std::string_view(event_), data_, id_);
  }
  too_big_ = false;
  has_data_ = false;
  data_.clear();
  event_.clear();
}

}  // namespace oaio::mcp
