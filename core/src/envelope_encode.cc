// encode_envelope: compact JSON in the canonical key order of WIRE.md §1.1, with Go's
// string escaping, so the output compares byte for byte with the Go SDK's. It runs
// on every message sent, so it appends into one reserved buffer (no streams, no DOM).
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "envelope_rules.h"
#include "generated_text.h"
#include "json_write.h"
#include "oaio/envelope.h"

namespace oaio {
namespace {

// Room for every key, quotes and number, so one reservation covers the common case
// (escapes may still grow the buffer).
std::size_t size_estimate(const Envelope& env) {
  std::size_t n = 320 + env.spec_version.size() + env.event_id.size() + env.event_type.size() +
                  env.frame_type.size() + env.occurred_at.size() + env.payload.size();
  for (const auto& f : detail::kOptionalStringFields) n += (env.*f.member).size();
  for (const auto& [k, v] : env.metadata) n += k.size() + v.size() + 4;
  return n;
}

void append_int(std::int64_t v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

// A string value the encoder made itself (an id, a timestamp, the spec version):
// plain ASCII, nothing to escape or check.
void append_own_text(std::string_view text, std::string* out) {
  out->push_back('"');
  out->append(text);
  out->push_back('"');
}

void append_uint(std::uint64_t v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

Status append_fields(const Envelope& env, std::string* out) {
  using detail::append_json_string;
  using detail::check_json_value;
  using detail::not_utf8;
  using detail::bad_payload;
  using detail::bad_metadata_value;
  out->append(R"({"spec_version":)");
  if (env.spec_version.empty()) {
    append_own_text(kSpecVersion, out);
  } else if (!append_json_string(env.spec_version, out)) {
    return not_utf8("spec_version");
  }
  out->append(R"(,"schema_version":)");
  append_int(env.schema_version > 0 ? env.schema_version : kSchemaVersion, out);
  out->append(R"(,"event_id":)");
  if (env.event_id.empty()) {
    char id[detail::kEventIdSize];
    detail::write_new_event_id(id);
    append_own_text({id, sizeof id}, out);
  } else if (!append_json_string(env.event_id, out)) {
    return not_utf8("event_id");
  }
  out->append(R"(,"event_type":)");
  if (!append_json_string(env.event_type, out)) return not_utf8("event_type");
  if (!env.frame_type.empty()) {
    out->append(R"(,"frame_type":)");
    if (!append_json_string(env.frame_type, out)) return not_utf8("frame_type");
  }
  out->append(R"(,"occurred_at":)");
  if (env.occurred_at.empty()) {
    char now[detail::kTimestampMaxSize];
    append_own_text({now, detail::write_now_timestamp(now)}, out);
  } else if (!append_json_string(env.occurred_at, out)) {
    return not_utf8("occurred_at");
  }
  for (const auto& f : detail::kOptionalStringFields) {
    const std::string& v = env.*f.member;
    if (v.empty()) continue;
    out->append(f.prefix);
    if (!append_json_string(v, out)) return not_utf8(f.name());
  }
  if (env.seq != 0) {
    out->append(R"(,"seq":)");
    append_uint(env.seq, out);
  }
  if (env.is_final) out->append(R"(,"is_final":true)");
  if (!env.payload.empty()) {
    std::string_view value;
    if (const char* why = check_json_value(env.payload, 1, &value)) return bad_payload(why);
    // WIRE.md §1.1: never write "payload":null; a null payload is no payload.
    if (value != "null") {
      out->append(R"(,"payload":)");
      out->append(env.payload);
    }
  }
  if (!env.metadata.empty()) {
    out->append(R"(,"metadata":{)");
    bool first = true;
    for (const auto& [key, value] : env.metadata) {
      if (!first) out->push_back(',');
      first = false;
      if (!append_json_string(key, out)) return not_utf8("a metadata key");
      out->push_back(':');
      std::string_view checked;
      if (const char* why = check_json_value(value, 2, &checked)) return bad_metadata_value(key, why);
      out->append(value);
    }
    out->push_back('}');
  }
  out->push_back('}');
  return Status();
}

}  // namespace

Status encode_envelope(const Envelope& env, std::string* out) {
  if (env.event_type.empty()) return detail::empty_event_type();
  const std::size_t rollback = out->size();
  out->reserve(rollback + size_estimate(env));
  Status s = append_fields(env, out);
  if (!s.ok()) out->resize(rollback);  // never leave half an envelope behind
  return s;
}

Result<std::string> encode_envelope(const Envelope& env) {
  std::string out;
  Status s = encode_envelope(env, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace oaio
