// encode_envelope: compact JSON in the canonical key order of WIRE.md §1.1, with Go's
// string escaping, so the output compares byte for byte with the Go SDK's. It runs
// on every message sent, so it appends into one reserved buffer (no streams, no DOM).
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "json_scan.h"
#include "json_write.h"
#include "oaio/envelope.h"

namespace oaio {
namespace {

struct OptionalField {
  std::string_view prefix;  // ,"key":
  std::string Envelope::*member;
};

// The string fields omitted when empty, in canonical order after occurred_at.
constexpr OptionalField kOptionalFields[] = {
    {R"(,"trace_id":)", &Envelope::trace_id},
    {R"(,"span_id":)", &Envelope::span_id},
    {R"(,"traceparent":)", &Envelope::traceparent},
    {R"(,"session_id":)", &Envelope::session_id},
    {R"(,"conversation_id":)", &Envelope::conversation_id},
    {R"(,"correlation_id":)", &Envelope::correlation_id},
    {R"(,"reply_to":)", &Envelope::reply_to},
    {R"(,"from":)", &Envelope::from},
    {R"(,"to":)", &Envelope::to},
    {R"(,"channel":)", &Envelope::channel},
    {R"(,"tenant_id":)", &Envelope::tenant_id},
    {R"(,"user_id":)", &Envelope::user_id},
};

// Room for every key, quotes and number, so one reservation covers the common case
// (escapes may still grow the buffer).
std::size_t size_estimate(const Envelope& env) {
  std::size_t n = 320 + env.spec_version.size() + env.event_id.size() + env.event_type.size() +
                  env.frame_type.size() + env.occurred_at.size() + env.payload.size();
  for (const auto& f : kOptionalFields) n += (env.*f.member).size();
  for (const auto& [k, v] : env.metadata) n += k.size() + v.size() + 4;
  return n;
}

void append_int(std::int64_t v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

void append_uint(std::uint64_t v, std::string* out) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

Status not_utf8(std::string_view field) {
  return Status::codec("encode envelope: " + std::string(field) + " is not valid UTF-8");
}

// Validates `raw` as one JSON value that will sit `depth` containers deep in the
// envelope (1 for the payload, 2 for a metadata value), so the encoder never writes
// what decode_envelope would reject as too deeply nested. Returns nullptr if valid,
// else the reason; sets *is_null for the literal `null`.
const char* check_json_value(std::string_view raw, int depth, bool* is_null) {
  detail::JsonScanner s(raw, depth);
  std::string_view value;
  if (!s.skip_value(&value)) return s.error();
  if (!s.at_end()) return "unexpected data after the value";
  *is_null = value == "null";
  return nullptr;
}

Status append_fields(const Envelope& env, std::string* out) {
  using detail::append_json_string;
  out->append(R"({"spec_version":)");
  if (!append_json_string(env.spec_version.empty() ? kSpecVersion : std::string_view(env.spec_version), out)) {
    return not_utf8("spec_version");
  }
  out->append(R"(,"schema_version":)");
  append_int(env.schema_version > 0 ? env.schema_version : kSchemaVersion, out);
  out->append(R"(,"event_id":)");
  if (env.event_id.empty()) {
    append_json_string(new_event_id(), out);
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
    append_json_string(now_timestamp(), out);
  } else if (!append_json_string(env.occurred_at, out)) {
    return not_utf8("occurred_at");
  }
  for (const auto& f : kOptionalFields) {
    const std::string& v = env.*f.member;
    if (v.empty()) continue;
    out->append(f.prefix);
    if (!append_json_string(v, out)) return not_utf8(f.prefix.substr(2, f.prefix.size() - 4));
  }
  if (env.seq != 0) {
    out->append(R"(,"seq":)");
    append_uint(env.seq, out);
  }
  if (env.is_final) out->append(R"(,"is_final":true)");
  if (!env.payload.empty()) {
    bool is_null = false;
    if (const char* why = check_json_value(env.payload, 1, &is_null)) {
      return Status::codec(std::string("encode envelope: payload is not valid JSON: ") + why);
    }
    // WIRE.md §1.1: never write "payload":null; a null payload is no payload.
    if (!is_null) {
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
      bool is_null = false;
      if (const char* why = check_json_value(value, 2, &is_null)) {
        return Status::codec("encode envelope: metadata value for key \"" + key + "\" is not valid JSON: " + why);
      }
      out->append(value);
    }
    out->push_back('}');
  }
  out->push_back('}');
  return Status();
}

}  // namespace

Status encode_envelope(const Envelope& env, std::string* out) {
  if (env.event_type.empty()) return Status::codec("encode envelope: event_type is empty");
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
