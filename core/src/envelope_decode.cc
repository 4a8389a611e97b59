// decode_envelope: one pass over the top-level object with the leniency and rejection
// rules of WIRE.md §1.5. Payload and metadata values are kept as their raw bytes, so
// nothing below the top level is ever materialised.
#include <string>
#include <string_view>

#include "envelope_settle.h"
#include "json_scan.h"
#include "oaio/envelope.h"

namespace oaio {
namespace {

using detail::JsonKind;
using detail::JsonScanner;

enum class Field : std::uint8_t {
  kUnknown, kString, kSchemaVersion, kOccurredAt, kSeq, kIsFinal, kPayload, kMetadata,
};

struct FieldRef {
  Field kind = Field::kUnknown;
  std::string Envelope::*member = nullptr;  // for kString
};

FieldRef str(std::string Envelope::*m) { return {Field::kString, m}; }

// Maps a decoded key to its field. Switching on the length first keeps this to one
// or two comparisons per key. Matching is exact (case-sensitive).
FieldRef field_of(std::string_view k) {
  switch (k.size()) {
    case 2: if (k == "to") return str(&Envelope::to); break;
    case 3: if (k == "seq") return {Field::kSeq}; break;
    case 4: if (k == "from") return str(&Envelope::from); break;
    case 7:
      if (k == "payload") return {Field::kPayload};
      if (k == "span_id") return str(&Envelope::span_id);
      if (k == "channel") return str(&Envelope::channel);
      if (k == "user_id") return str(&Envelope::user_id);
      break;
    case 8:
      if (k == "event_id") return str(&Envelope::event_id);
      if (k == "trace_id") return str(&Envelope::trace_id);
      if (k == "reply_to") return str(&Envelope::reply_to);
      if (k == "is_final") return {Field::kIsFinal};
      if (k == "metadata") return {Field::kMetadata};
      break;
    case 9: if (k == "tenant_id") return str(&Envelope::tenant_id); break;
    case 10:
      if (k == "event_type") return str(&Envelope::event_type);
      if (k == "frame_type") return str(&Envelope::frame_type);
      if (k == "session_id") return str(&Envelope::session_id);
      break;
    case 11:
      if (k == "occurred_at") return {Field::kOccurredAt};
      if (k == "traceparent") return str(&Envelope::traceparent);
      break;
    case 12: if (k == "spec_version") return str(&Envelope::spec_version); break;
    case 14:
      if (k == "schema_version") return {Field::kSchemaVersion};
      if (k == "correlation_id") return str(&Envelope::correlation_id);
      break;
    case 15: if (k == "conversation_id") return str(&Envelope::conversation_id); break;
    default: break;
  }
  return {};
}

class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : bytes_(bytes), s_(bytes) {}

  Status run(Envelope* env);

 private:
  Status field(const FieldRef& f, std::string_view key, Envelope* env);
  Status string_field(std::string_view key, std::string* out);
  Status occurred_at(Envelope* env);
  Status metadata(Envelope* env);
  // The next value's raw text, for error messages ("got 1.0"); truncated.
  std::string offending_value();
  Status syntax_error() const;

  std::string_view bytes_;
  JsonScanner s_;
  std::string key_scratch_;
};

Status Decoder::syntax_error() const {
  return Status::codec("decode envelope: invalid JSON at byte " + std::to_string(s_.error_pos()) + ": " +
                       (s_.error() ? s_.error() : "syntax error"));
}

std::string Decoder::offending_value() {
  std::string_view raw;
  if (!s_.skip_value(&raw)) return "invalid JSON";
  constexpr std::size_t kMax = 40;
  return raw.size() <= kMax ? std::string(raw) : std::string(raw.substr(0, kMax)) + "...";
}

Status Decoder::string_field(std::string_view key, std::string* out) {
  switch (s_.peek_kind()) {
    case JsonKind::kNull:
      s_.read_literal("null");
      out->clear();
      return Status();
    case JsonKind::kString:
      return s_.read_string(out) ? Status() : syntax_error();
    default:
      // Go and Python fail on this too; a number where an id belongs is not a frame.
      return Status::codec("decode envelope: " + std::string(key) + " must be a string, got " + offending_value());
  }
}

Status Decoder::occurred_at(Envelope* env) {
  OAIO_RETURN_IF_ERROR(string_field("occurred_at", &env->occurred_at));
  detail::normalize_occurred_at(&env->occurred_at);
  return Status();
}

Status Decoder::metadata(Envelope* env) {
  env->metadata.clear();  // a repeated "metadata" key replaces the earlier one
  switch (s_.peek_kind()) {
    case JsonKind::kNull:
      s_.read_literal("null");
      return Status();
    case JsonKind::kObject:
      break;
    default:
      return Status::codec("decode envelope: metadata must be an object, got " + offending_value());
  }
  s_.begin_object();
  std::string_view key;
  std::string scratch;
  while (s_.next_member(&key, &scratch)) {
    std::string_view raw;
    if (!s_.skip_value(&raw)) return syntax_error();
    env->metadata.insert_or_assign(std::string(key), std::string(raw));  // last duplicate wins
  }
  return s_.failed() ? syntax_error() : Status();
}

Status Decoder::field(const FieldRef& f, std::string_view key, Envelope* env) {
  switch (f.kind) {
    case Field::kString:
      return string_field(key, &(env->*f.member));
    case Field::kOccurredAt:
      return occurred_at(env);
    case Field::kMetadata:
      return metadata(env);
    case Field::kPayload: {
      std::string_view raw;
      if (!s_.skip_value(&raw)) return syntax_error();
      if (raw == "null") {
        env->payload.clear();  // null means absent
      } else {
        env->payload.assign(raw);  // verbatim (WIRE.md §1.5.6)
      }
      return Status();
    }
    case Field::kSeq: {
      const JsonKind kind = s_.peek_kind();
      if (kind == JsonKind::kNull) {
        env->seq = 0;
        return s_.read_literal("null") ? Status() : syntax_error();
      }
      detail::JsonNumber num;
      if (kind == JsonKind::kNumber) {
        if (!s_.read_number(&num)) return syntax_error();
        if (!num.negative && num.is_integer()) {
          if (detail::parse_uint64(num.text, &env->seq)) return Status();
          return Status::codec("decode envelope: seq out of range, got " + std::string(num.text));
        }
        return Status::codec("decode envelope: seq must be a non-negative integer, got " + std::string(num.text));
      }
      return Status::codec("decode envelope: seq must be a non-negative integer, got " + offending_value());
    }
    case Field::kIsFinal:
      switch (s_.peek_kind()) {
        case JsonKind::kTrue: env->is_final = true; return s_.read_literal("true") ? Status() : syntax_error();
        case JsonKind::kFalse: env->is_final = false; return s_.read_literal("false") ? Status() : syntax_error();
        case JsonKind::kNull: env->is_final = false; return s_.read_literal("null") ? Status() : syntax_error();
        default: return Status::codec("decode envelope: is_final must be a boolean, got " + offending_value());
      }
    case Field::kSchemaVersion: {
      const JsonKind kind = s_.peek_kind();
      if (kind == JsonKind::kNull) {
        env->schema_version = kSchemaVersion;
        return s_.read_literal("null") ? Status() : syntax_error();
      }
      detail::JsonNumber num;
      if (kind == JsonKind::kNumber) {
        if (!s_.read_number(&num)) return syntax_error();
        if (num.is_integer() && detail::parse_int64(num.text, &env->schema_version)) return Status();
        return Status::codec("decode envelope: schema_version must be an integer, got " + std::string(num.text));
      }
      return Status::codec("decode envelope: schema_version must be an integer, got " + offending_value());
    }
    case Field::kUnknown: {
      // Ignored (WIRE.md §1.5.1), but it must still be valid JSON.
      return s_.skip_value() ? Status() : syntax_error();
    }
  }
  return Status();
}

Status Decoder::run(Envelope* env) {
  const JsonKind top = s_.peek_kind();
  if (top != JsonKind::kObject) {
    if (top == JsonKind::kEnd) return Status::codec("decode envelope: empty input");
    return Status::codec("decode envelope: body must be a JSON object, got " + offending_value());
  }
  s_.begin_object();
  std::string_view key;
  while (s_.next_member(&key, &key_scratch_)) {
    OAIO_RETURN_IF_ERROR(field(field_of(key), key, env));
  }
  if (s_.failed()) return syntax_error();
  if (!s_.at_end()) {
    return Status::codec("decode envelope: unexpected data after the envelope at byte " + std::to_string(s_.pos()));
  }
  return Status();
}

}  // namespace

Result<Envelope> decode_envelope(std::string_view bytes) {
  // Decode straight into the Result and return that one object (NRVO): moving a
  // filled Envelope costs two dozen string moves, a fifth of a small decode.
  Result<Envelope> out(std::in_place);
  Status s = Decoder(bytes).run(&out.value());
  if (!s.ok()) out = Result<Envelope>(std::move(s));
  return out;
}

}  // namespace oaio
