#include "sse_parser.h"

#include "text_util.h"

namespace oaio::sse {
namespace {

constexpr unsigned char kBom[3] = {0xEF, 0xBB, 0xBF};

}  // namespace

bool SseParser::feed(std::string_view chunk, const SseEventFn& on_event) {
  if (failed()) return false;
  std::size_t i = 0;
  const std::size_t n = chunk.size();

  // A BOM may only appear as the stream's first bytes, and may be cut across chunks.
  while (!bom_done_ && i < n) {
    if (static_cast<unsigned char>(chunk[i]) == kBom[bom_seen_]) {
      ++i;
      if (++bom_seen_ == 3) bom_done_ = true;
    } else {
      // Not a BOM after all: the bytes matched so far are ordinary line bytes.
      line_.append(reinterpret_cast<const char*>(kBom), bom_seen_);
      bom_done_ = true;
    }
  }

  if (skip_lf_ && i < n) {
    skip_lf_ = false;
    if (chunk[i] == '\n') ++i;
  }

  while (i < n) {
    std::size_t end = chunk.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(chunk.data() + i, n - i);
      if (over_limit(0)) {
        fail_too_large();
        return false;
      }
      return true;
    }
    line_.append(chunk.data() + i, end - i);
    if (over_limit(0)) {
      fail_too_large();
      return false;
    }
    if (chunk[end] == '\r') {
      if (end + 1 < n) {
        i = chunk[end + 1] == '\n' ? end + 2 : end + 1;
      } else {
        skip_lf_ = true;  // the LF of a CRLF may start the next chunk
        i = end + 1;
      }
    } else {
      i = end + 1;
    }
    bool go = process_line(on_event);
    line_.clear();
    if (!go) return false;
  }
  return true;
}

bool SseParser::finish() {
  bool cut = pending_ || !line_.empty() || (bom_seen_ > 0 && !bom_done_);
  line_.clear();
  data_.clear();
  event_type_.clear();
  has_data_ = false;
  pending_ = false;
  skip_lf_ = false;
  bom_seen_ = 0;
  bom_done_ = false;  // a reconnected stream may start with a BOM again
  return cut;
}

bool SseParser::process_line(const SseEventFn& on_event) {
  if (line_.empty()) return dispatch(on_event);
  if (line_[0] == ':') {
    ++comments_;
    return true;
  }
  std::string_view line(line_);
  std::string_view field = line, value;
  if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  pending_ = true;
  if (field == "data") {
    append_valid_utf8(data_, value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    event_type_ = to_valid_utf8(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_event_id_ = to_valid_utf8(value);
  } else if (field == "retry") {
    bool digits = !value.empty();
    std::uint64_t ms = 0;
    for (char c : value) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      ms = ms * 10 + static_cast<std::uint64_t>(c - '0');
      if (ms > UINT32_MAX) ms = UINT32_MAX;
    }
    if (digits) retry_ms_ = static_cast<std::uint32_t>(ms);
  }
  if (over_limit(0)) {
    fail_too_large();
    return false;
  }
  return true;
}

bool SseParser::dispatch(const SseEventFn& on_event) {
  pending_ = false;
  if (!has_data_) {
    event_type_.clear();
    return true;
  }
  data_.pop_back();  // the '\n' after the last data line
  SseEvent e;
  e.type = event_type_.empty() ? std::string_view("message") : std::string_view(event_type_);
  e.data = data_;
  e.id = last_event_id_;
  ++events_;
  bool go = on_event(e);
  data_.clear();
  event_type_.clear();
  has_data_ = false;
  return go;
}

bool SseParser::over_limit(std::size_t extra) const {
  return data_.size() + event_type_.size() + line_.size() + extra > max_event_bytes_;
}

void SseParser::fail_too_large() {
  error_ = "SSE event larger than the limit of " + std::to_string(max_event_bytes_) + " bytes";
  line_.clear();
  data_.clear();
}

}  // namespace oaio::sse
