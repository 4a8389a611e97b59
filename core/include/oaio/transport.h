// Transport: the seam between the bus and a message system (NATS Core semantics:
// subjects, queue groups, at-most-once delivery, no acknowledgements). Two
// implementations ship with the core: the in-process transport (inmem_transport.h)
// and NATS (nats_transport.h). Tests may add their own, like LevelDB's Env.
//
// Thread-safety: every method may be called from any thread concurrently.
// Delivery: handlers are called on a transport-owned thread (NATS: one per
// subscription, so calls for one subscription never overlap) or on the publishing
// thread (in-process, where calls from different publishers may overlap). Messages
// from one publisher arrive in publish order. The bus relies on neither more than
// that. A handler must not block for long (the bus hands real work to its executor).
//
// Envelopes as objects: a transport inside one process may carry the bus's envelopes
// without encoding them (capabilities().carries_envelopes). The bus then settles each
// envelope as a receiver would decode it (checks and normalisation of the encoder and
// decoder) and hands it to publish_envelope(); subscribers that asked for objects
// (subscribe_envelopes) get it in TransportMessage::envelope, all others get the
// encoded bytes as usual. Receivers see the same envelope either way.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "oaio/envelope.h"
#include "oaio/result.h"

namespace oaio {

// One delivered message. The views are valid only during the handler call.
struct TransportMessage {
  std::string_view subject;
  std::string_view reply;   // the NATS reply subject, empty when none
  std::string_view data;
  // Non-zero for a header-only NATS status message (e.g. 503 "no responders",
  // WIRE.md §11 [E1]); `data` is then empty and must not be decoded.
  int status = 0;
  // Set instead of `data` for a subscriber that takes envelopes when the publisher
  // handed one over (see the top of this file): the envelope exactly as decoding its
  // bytes would give. Valid only during the handler call. The handler may move from
  // it when `envelope_owned` (no later receiver reads it), and must copy it otherwise.
  Envelope* envelope = nullptr;
  bool envelope_owned = false;
};

using MessageHandler = std::function<void(const TransportMessage&)>;

// What a transport can do; the bus adapts its behaviour (e.g. [E1] needs headers).
// `in_process` and `carries_envelopes` are fixed for a transport's life (the bus reads
// them once); the others may change with the server it is connected to.
struct TransportCapabilities {
  bool no_responders = false;     // the server reports "no responders" (503) to the reply inbox
  std::size_t max_payload = 0;    // largest message body the server accepts; 0 = unlimited
  // Replies can arrive within microseconds (in-process): a blocked caller polls briefly
  // before sleeping (BusOptions::idle_spin). Over a network it just sleeps.
  bool in_process = false;
  // publish_envelope() hands envelopes over as objects (see the top of this file).
  bool carries_envelopes = false;
};

enum class ConnectionEvent { kDisconnected, kReconnected, kClosed };
using ConnectionListener = std::function<void(ConnectionEvent)>;

// A live subscription. Destroying it unsubscribes. After unsubscribe() returns no new
// delivery starts; one already running may finish on its thread, and the handler
// object is destroyed by the transport once no call can happen any more. Never call
// unsubscribe() expecting it to wait for the handler (it may run on that very thread).
class TransportSubscription {
 public:
  virtual ~TransportSubscription() = default;
  virtual void unsubscribe() = 0;  // idempotent
};

// A subscription whose messages the subscriber takes on its own thread. A caller that
// waits for one reply anyway (a blocking Invoke) then gets it straight from the
// connection's reader thread, with no delivery thread in between: one thread wake-up
// less per call, which on an idle machine is most of a loopback round trip.
//
// Thread-safety: next() from one thread at a time; interrupt() from any thread.
// Destroying it unsubscribes (not while a next() is running).
class PullSubscription {
 public:
  virtual ~PullSubscription() = default;
  enum class Wait { kMessage, kTimeout, kClosed };
  // Waits up to `timeout` (negative: no limit) for the next message. kMessage: `*msg`
  // views it until the next call or destruction. kClosed: interrupted, or the
  // subscription or connection is closed.
  virtual Wait next(std::chrono::milliseconds timeout, TransportMessage* msg) = 0;
  // Makes a running next() and every later one return kClosed. Idempotent.
  virtual void interrupt() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends one message. `reply` may be empty. Fails with TRANSPORT_FAILURE when the
  // connection is closed or not connected, and INVALID_REQUEST when data exceeds
  // max_payload (nothing is sent then).
  virtual Status publish(std::string_view subject, std::string_view reply, std::string_view data) = 0;

  // Subscribes to `subject` (wildcards allowed here; the bus checks names before).
  // A non-empty `queue` joins that queue group: each message goes to one member.
  virtual Result<std::unique_ptr<TransportSubscription>> subscribe(std::string_view subject,
                                                                   std::string_view queue,
                                                                   MessageHandler handler) = 0;

  // Sends an envelope already settled by the bus (see the top of this file); may move
  // from it. Fails like publish(), with INVALID_REQUEST when its encoding would exceed
  // max_payload. The default encodes it and publishes the bytes.
  virtual Status publish_envelope(std::string_view subject, std::string_view reply, Envelope&& envelope) {
    auto bytes = encode_envelope(envelope);
    if (!bytes.ok()) return bytes.status();
    return publish(subject, reply, *bytes);
  }

  // Like subscribe(), for a handler that reads TransportMessage::envelope when it is
  // set (and `data` otherwise). The default is subscribe(): always bytes.
  virtual Result<std::unique_ptr<TransportSubscription>> subscribe_envelopes(std::string_view subject,
                                                                             std::string_view queue,
                                                                             MessageHandler handler) {
    return subscribe(subject, queue, std::move(handler));
  }

  // Subscribes to `subject` for pulling (see PullSubscription). Optional: a transport
  // without it returns null, and the bus uses subscribe() instead.
  virtual Result<std::unique_ptr<PullSubscription>> subscribe_pull(std::string_view subject) {
    (void)subject;
    return std::unique_ptr<PullSubscription>();
  }
  // A fresh unique inbox subject, "_INBOX.<unique token>".
  virtual std::string new_inbox() = 0;

  // Waits until everything published so far has reached the server (round trip).
  virtual Status flush(std::chrono::milliseconds timeout) = 0;

  virtual TransportCapabilities capabilities() const = 0;

  // True while the transport can send (NATS: connected, not reconnecting).
  virtual bool connected() const = 0;

  // Registers a listener for connection changes (called on a transport thread). Returns
  // an id for remove_connection_listener.
  virtual int add_connection_listener(ConnectionListener listener) = 0;
  virtual void remove_connection_listener(int id) = 0;

  // Closes the connection; later publishes fail. Idempotent. Subscriptions stop.
  virtual void close() = 0;
};

}  // namespace oaio
