// The rules of the strict encoder (WIRE.md §1.6) that encode_envelope and
// settle_envelope both apply, kept in one place so that an envelope handed over in
// process fails exactly as one sent as bytes, with the same message.
//
// Thread-safety: pure functions and constants.
#pragma once

#include <string>
#include <string_view>

#include "oaio/envelope.h"
#include "oaio/status.h"

namespace oaio::detail {

struct OptionalStringField {
  std::string_view prefix;  // ,"key":
  std::string Envelope::*member;
  std::string_view name() const { return prefix.substr(2, prefix.size() - 4); }
};

// The string fields omitted when empty, in canonical order after occurred_at.
inline constexpr OptionalStringField kOptionalStringFields[] = {
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

// Validates `raw` as one JSON value that will sit `depth` containers deep in the
// envelope (1 for the payload, 2 for a metadata value), so nothing is sent that
// decode_envelope would reject as too deeply nested. Returns nullptr if valid, with
// *value the value without surrounding whitespace (what a decoder keeps), else the
// reason.
const char* check_json_value(std::string_view raw, int depth, std::string_view* value) noexcept;

// The failures, worded once.
Status empty_event_type();
Status not_utf8(std::string_view field);
Status bad_payload(const char* why);
Status bad_metadata_value(const std::string& key, const char* why);

}  // namespace oaio::detail
