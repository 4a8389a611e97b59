// The in-process transport: NATS Core subject semantics (tokens, `*`, `>`, queue
// groups with one random member per group) inside one process. It is the embedded
// default of `oaio run` and the fake that bus unit tests run on.
//
// Delivery happens synchronously on the publishing thread: publish() returns after
// every matching handler has been called. Handlers must therefore not block for long
// and must not wait for something only another publish on the same thread would do.
// Reports no-responders (503) to the reply subject like a NATS server does.
//
// Envelopes published by the bus travel as objects, not bytes (Transport::
// publish_envelope): a receiver gets the publisher's envelope, settled exactly as
// decoding would leave it, without an encode and a decode in between. Subscribers
// that want bytes (subscribe()) still get the encoding.
//
// Thread-safety: fully thread-safe.
#pragma once

#include <memory>

#include "oaio/transport.h"

namespace oaio {

struct InmemOptions {
  std::size_t max_payload = 8 * 1024 * 1024;  // bodies above this are refused (0 = unlimited)
  // Hand envelopes over as objects (above). Off: every message is encoded and decoded,
  // as over NATS (tests use it to run the codec path in process).
  bool carry_envelopes = true;
};

std::shared_ptr<Transport> make_inmem_transport(InmemOptions options = {});

}  // namespace oaio
