// The strict encoder's checks and failure messages (see envelope_rules.h).
#include "envelope_rules.h"

#include "json_scan.h"

namespace oaio::detail {

const char* check_json_value(std::string_view raw, int depth, std::string_view* value) noexcept {
  JsonScanner s(raw, depth);
  if (!s.skip_value(value)) return s.error();
  if (!s.at_end()) return "unexpected data after the value";
  return nullptr;
}

Status empty_event_type() { return Status::codec("encode envelope: event_type is empty"); }

Status not_utf8(std::string_view field) {
  return Status::codec("encode envelope: " + std::string(field) + " is not valid UTF-8");
}

Status bad_payload(const char* why) {
  return Status::codec(std::string("encode envelope: payload is not valid JSON: ") + why);
}

Status bad_metadata_value(const std::string& key, const char* why) {
  return Status::codec("encode envelope: metadata value for key \"" + key + "\" is not valid JSON: " + why);
}

}  // namespace oaio::detail
