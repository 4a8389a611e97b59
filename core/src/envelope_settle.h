// Settling an envelope: what a receiver would decode, without the bytes in between.
// The in-process transport hands envelopes over as objects (Transport::
// publish_envelope); settling first keeps what a handler sees identical to what it
// would see over NATS, and every failure identical to the encoder's.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "oaio/envelope.h"
#include "oaio/status.h"

namespace oaio::detail {

// Leaves *env exactly as decode_envelope(encode_envelope(*env)) would return it, or
// fails with the Status encode_envelope would give (*env may then be partly settled).
// Fills spec_version, schema_version, event_id and occurred_at as the encoder does;
// trims whitespace around the payload and metadata values as the decoder does; a
// `null` payload becomes no payload; occurred_at is normalised as decoded.
Status settle_envelope(Envelope* env);

// WIRE.md §1.4 for a received occurred_at: unparsable becomes empty (unknown, the
// frame is kept); an offset or a fraction not in Go's form becomes Go's UTC form.
void normalize_occurred_at(std::string* ts);

}  // namespace oaio::detail
