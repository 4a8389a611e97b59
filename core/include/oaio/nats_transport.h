// The NATS transport (nats.c): one connection per transport, options for the ways real
// deployments authenticate and fail over.
//
// Latency: nats.c normally batches outgoing data in a flusher thread, which adds about
// a millisecond to every request/reply hop on loopback. This transport sends each
// publish at once (natsOptions_SetSendAsap) unless `send_asap` is false.
//
// Reply inboxes: by default every Invoke and StreamInvoke subscribes its own exact
// inbox and unsubscribes it afterwards, as WIRE.md §4 and [E2] require. With
// `shared_reply_inbox`, all of a connection's inboxes are "_INBOX.<id>.<n>" behind one
// wildcard subscription "_INBOX.<id>.*" (as nats.c and nats.go do for their own
// requests): a call then costs one PUB instead of SUB + PUB + UNSUB, and a cluster
// does not propagate two interest changes per call. It departs from the spec's letter
// (an exact-subject inbox subscription) but keeps its intent: a stream's cancel goes to
// "<inbox>.cancel", one token deeper than `*` matches, so the caller still never
// receives its own cancel. Peers need nothing: they reply to whatever reply_to says.
//
// Thread-safety: the returned transport is fully thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "oaio/transport.h"

namespace oaio {

struct NatsTlsOptions {
  bool enabled = false;         // also implied by a tls:// URL or any file below
  std::string ca_file;          // PEM CA bundle to verify the server
  std::string cert_file;        // client certificate (mutual TLS)
  std::string key_file;         // client private key
  bool skip_verify = false;     // for tests only: do not verify the server certificate
};

struct NatsOptions {
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};  // tried in order
  std::string name = "oaio";            // connection name shown by the server
  std::string user, password;           // user/password auth (or in the URL)
  std::string token;                    // token auth
  std::string nkey_seed;                // NKey seed ("SU..."): signs the server nonce
  std::string credentials_file;         // .creds file (JWT + seed)
  NatsTlsOptions tls;
  int max_reconnect = -1;                                        // -1 = forever
  std::chrono::milliseconds reconnect_wait{250};                 // between attempts per server
  std::chrono::milliseconds reconnect_jitter{100};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds ping_interval{20000};
  int max_pings_out = 2;
  bool retry_on_failed_connect = false;  // keep trying in the background if the first connect fails
  bool send_asap = true;                 // see the latency note above
  bool no_responders = true;             // ask the server for 503 "no responders" ([E1])
  bool shared_reply_inbox = false;       // one wildcard subscription for all reply inboxes (above)
};

// Connects. Fails with TRANSPORT_FAILURE naming the servers and nats.c's reason, or
// INVALID_REQUEST for inconsistent options (e.g. an unreadable credentials file).
Result<std::shared_ptr<Transport>> connect_nats(const NatsOptions& options);

// Parses a comma-separated server list ("nats://a:4222,nats://b:4222").
std::vector<std::string> split_server_list(std::string_view list);

}  // namespace oaio
