// Sending and receiving the bus's envelopes over a Transport: as encoded bytes, or as
// the envelope itself where the transport carries envelopes (transport.h, the
// in-process transport). Every send and receive of the bus goes through these, so
// that choice is made in one place.
//
// Thread-safety: an OutgoingEnvelope belongs to one thread; receive_envelope is
// thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "oaio/envelope.h"
#include "oaio/transport.h"
#include "scratch_buffer.h"

namespace oaio::detail {

// One envelope on its way out. prepare() does everything that can fail before a call
// is registered or a subscription made; send() publishes.
class OutgoingEnvelope {
 public:
  // `carried`: the transport's carries_envelopes capability, which the bus reads once
  // (a transport's capabilities() may take its connection's lock).
  OutgoingEnvelope(Transport& transport, bool carried) : transport_(transport), carried_(carried) {}
  explicit OutgoingEnvelope(Transport& transport)
      : OutgoingEnvelope(transport, transport.capabilities().carries_envelopes) {}

  // Encodes *env, or settles it in place (envelope_settle.h) when the transport carries
  // envelopes. Fails as encode_envelope would.
  Status prepare(Envelope& env);

  // Publishes what prepare() made ready: the bytes, or `env` itself, which is then
  // moved from. `env` is the envelope prepared, unchanged since.
  Status send(std::string_view subject, std::string_view reply, Envelope& env);

  // Encodes `env` as it is, for an envelope its owner keeps: no copy, and the encoder
  // fills in what is left empty (event_id, occurred_at, the versions). Fails as
  // encode_envelope would. REQUIRES: the transport does not carry envelopes (what it
  // takes must be an envelope the bus owns; use prepare() and send()).
  Status prepare_encoded(const Envelope& env);
  // Publishes what prepare_encoded() made ready.
  Status send_encoded(std::string_view subject, std::string_view reply);

 private:
  Transport& transport_;
  const bool carried_;
  std::optional<ScratchBuffer> bytes_;  // only when the envelope is sent as bytes
};

// The envelope in a delivered message: taken (or copied, when another receiver still
// needs it) when the transport carried it, decoded from the bytes otherwise.
Result<Envelope> receive_envelope(const TransportMessage& msg);

}  // namespace oaio::detail
