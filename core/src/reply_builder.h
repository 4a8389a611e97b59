// The envelope-shaping rules shared by every frame the bus builds: reply shells
// (WIRE.md §4), handler-returned envelopes, metadata inheritance (§8), request
// preparation (§4 client step 2) and nested-call context propagation with child
// traceparents (§8).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "oaio/envelope.h"

namespace oaio::detail {

// The request metadata without its reserved "acp." keys.
Metadata inherited_metadata(const Metadata& request);
// Overlays `own` on the filtered request metadata (handler keys win, acp.* dropped from both).
Metadata merged_metadata(const Metadata& request, const Metadata& own);
// The overlay step of merged_metadata, onto metadata already inherited (a reply shell's).
void overlay_metadata(Metadata& inherited, const Metadata& own);

// A reply shell: fresh id and time, event type and canonical frame type, from = agent_id,
// to = request.from, correlation = request.event_id, context fields copied, metadata
// inherited. No reply_to, no seq, no payload.
Envelope make_reply_shell(const Envelope& request, std::string_view event_type, std::string_view agent_id);
// The same, written into a fresh envelope `e` (its payload, seq and is_final untouched).
void fill_reply_shell(Envelope& e, const Envelope& request, std::string_view event_type, std::string_view agent_id);

// Completes a handler-built reply envelope by the shell rules: its own values are kept,
// empty context fields are filled from the request, a mapped type gets its canonical
// frame type, a terminal type is_final, metadata merged, reply_to cleared.
void complete_reply(Envelope& reply, const Envelope& request, std::string_view agent_id);

// Fills an outbound request (Invoke/StreamInvoke) per WIRE.md §4 client step 2: event type
// agent.message.received when empty (with frame_type "request"), a fresh id and time when
// empty, from/to/tenant when empty.
void prepare_request(Envelope& request, std::string_view target, std::string_view agent_id,
                     std::string_view configured_tenant);

// Nested-call propagation (WIRE.md §8 [IMP]): fills empty session, conversation, trace id,
// tenant, traceparent (a child of the parent's) and span id from `parent`.
void inherit_context(Envelope& out, const Envelope& parent);

// True for a valid version-00 W3C traceparent with non-zero trace and parent ids.
bool is_valid_traceparent(std::string_view tp) noexcept;
// A child of a valid traceparent: same version, trace id and flags, new random parent id.
// Returns empty for an invalid input.
std::string child_traceparent(std::string_view tp);

}  // namespace oaio::detail
