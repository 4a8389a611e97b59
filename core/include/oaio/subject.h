// Subject building and name checks (WIRE.md §3).
//
// The reference SDKs build subjects by plain concatenation and never check names;
// we build the same subjects but refuse names that would make a wildcard or an
// invalid subject ([IMP] subject-token safety).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "oaio/status.h"

namespace oaio {

// OK if `name` is usable as one or more dot-separated subject tokens: non-empty, no
// whitespace or ASCII control character, no `*` or `>`, no empty token (leading or
// trailing dot, ".."). Otherwise INVALID_REQUEST naming `what` (e.g. "target") and
// the offending value.
Status check_subject_name(std::string_view what, std::string_view name);

// "P.invoke.<target>" or "P.T.invoke.<target>" (tenant may be empty).
std::string invoke_subject(std::string_view prefix, std::string_view tenant, std::string_view target);
// "P.events.<event_type>" or "P.T.events.<event_type>".
std::string event_subject(std::string_view prefix, std::string_view tenant, std::string_view event_type);
// "P.dlq.<event_type>" (never tenant-scoped).
std::string dlq_subject(std::string_view prefix, std::string_view event_type);
// "<reply_to>.cancel" ([E2]).
std::string cancel_subject(std::string_view reply_to);

}  // namespace oaio
