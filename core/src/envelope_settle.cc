// settle_envelope: the encoder's checks and the decoder's normalisations applied to
// an Envelope in place. The checks run in the encoder's order, so a faulty envelope
// fails with the same message either way (tests/core/envelope_settle_test.cc compares
// the two paths; tests/fuzz/envelope_settle_fuzz.cc keeps comparing them).
#include "envelope_settle.h"

#include <string_view>

#include "envelope_rules.h"
#include "json_scan.h"

namespace oaio::detail {
namespace {

// A value the decoder keeps as its raw text: trimmed of surrounding whitespace.
void keep_trimmed(std::string* text, std::string_view value) {
  if (value.size() == text->size()) return;
  const auto offset = static_cast<std::size_t>(value.data() - text->data());
  text->erase(offset + value.size());
  text->erase(0, offset);
}

}  // namespace

void normalize_occurred_at(std::string* ts) {
  if (ts->empty()) return;
  auto t = parse_timestamp(*ts);
  if (!t) {
    ts->clear();
    return;
  }
  // Already Go's UTC form (Z, 1..9 fraction digits without a trailing zero)? Keep the
  // bytes and skip formatting: that is what every Go and C++ peer sends.
  const std::size_t dot = ts->find('.');
  const bool canonical = ts->back() == 'Z' && (dot == std::string::npos ||
                                                (ts->size() - dot - 2 <= 9 && (*ts)[ts->size() - 2] != '0'));
  if (!canonical) *ts = format_timestamp(*t);
}

Status settle_envelope(Envelope* env) {
  if (env->event_type.empty()) return empty_event_type();
  if (env->spec_version.empty()) {
    env->spec_version = std::string(kSpecVersion);
  } else if (!is_valid_utf8(env->spec_version)) {
    return not_utf8("spec_version");
  }
  if (env->schema_version <= 0) env->schema_version = kSchemaVersion;
  if (env->event_id.empty()) {
    env->event_id = new_event_id();
  } else if (!is_valid_utf8(env->event_id)) {
    return not_utf8("event_id");
  }
  if (!is_valid_utf8(env->event_type)) return not_utf8("event_type");
  if (!is_valid_utf8(env->frame_type)) return not_utf8("frame_type");
  if (env->occurred_at.empty()) {
    env->occurred_at = now_timestamp();
  } else if (!is_valid_utf8(env->occurred_at)) {
    return not_utf8("occurred_at");
  } else {
    normalize_occurred_at(&env->occurred_at);
  }
  for (const auto& f : kOptionalStringFields) {
    if (!is_valid_utf8(env->*f.member)) return not_utf8(f.name());
  }
  if (!env->payload.empty()) {
    std::string_view value;
    if (const char* why = check_json_value(env->payload, 1, &value)) return bad_payload(why);
    if (value == "null") {
      env->payload.clear();  // never sent, so never received
    } else {
      keep_trimmed(&env->payload, value);
    }
  }
  for (auto& [key, value] : env->metadata) {
    if (!is_valid_utf8(key)) return not_utf8("a metadata key");
    std::string_view checked;
    if (const char* why = check_json_value(value, 2, &checked)) return bad_metadata_value(key, why);
    keep_trimmed(&value, checked);
  }
  return Status();
}

}  // namespace oaio::detail
