// Shared pieces of the C++ <-> Python SDK interop tests (tests/interop/python_*_test.cc):
// a fixture with a real nats-server and helpers to start Python peers and C++ buses,
// C++ targets that mirror the behaviours of peer.py's "serve" role, and JSON views of
// envelopes for readable assertions.
//
// Thread-safety: CppTargets records requests from bus threads under its own mutex;
// everything else is for the test thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oaio/bus.h"
#include "oaio/envelope.h"
#include "support/nats_server.h"
#include "support/python_peer.h"

namespace oaio::test {

using json = nlohmann::json;

// The envelope as JSON with the wire keys (empty fields left out, payload and
// metadata values parsed), for comparisons and failure messages.
json envelope_json(const Envelope& env, bool with_payload = true);
// The parsed payload; null when there is none (or it is not valid JSON).
json payload_json(const Envelope& env);
// The parsed metadata object; {} when there is none.
json metadata_json(const Envelope& env);
// Envelope metadata from a JSON object (values re-encoded as raw JSON text).
Metadata metadata_from(const json& object);

// Targets a C++ bus serves for Python clients; the same names and behaviours as
// peer.py's serve role (see the docstring there):
//   <name>.echo    -> {"echo": <payload>, "served_by": <agent id>, "request": {...}}
//   <name>.silent  -> final without payload
//   <name>.fail    -> {"code":C,"message":M[,"retryable":B]}  a typed Status
//                     {"throw":M}                              a std::runtime_error
//                     {"nested_timeout_ms":N}                  the status of a nested
//                        invoke of "interop.nobody" with timeout N (AGENT_TIMEOUT when the
//                        bus has fast_fail_no_handler off, NO_HANDLER otherwise)
//   <name>.stream  -> the stream script of peer.py ("started", "deltas", "delay_ms",
//                     "end": final | return | raise with "error": {code,message,retryable})
class CppTargets {
 public:
  // Registers the four targets on `bus`. The bus must outlive this object.
  ::testing::AssertionResult serve(Bus& bus, const std::string& name, HandlerOptions options = {});
  // Every request handled so far, in handling order.
  std::vector<Envelope> requests() const;
  size_t request_count() const;
  void stop() { subscriptions_.clear(); }

 private:
  // Shared with the handlers, which may still run on bus threads after this object.
  struct State {
    std::string agent_id;
    std::mutex mu;
    std::vector<Envelope> requests;  // guarded by mu
    void record(const Envelope& request);
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::vector<Subscription> subscriptions_;
};

// The frames of one stream read with the pull API, and how it ended.
struct StreamResult {
  bool started = false;      // stream_invoke() succeeded
  Status start_status;       // its error otherwise
  std::string request_id;
  std::vector<Envelope> frames;
  Status end;                // OK when the stream ended after its terminal frame
};
StreamResult collect_stream(Bus& bus, const std::string& target, Envelope request, CallOptions options = {});

// One real nats-server per test (default max_payload, 1 MiB), plus helpers. SetUp
// FAILS (never skips) when the Python virtualenv is missing.
class PythonInteropTest : public ::testing::Test {
 protected:
  static constexpr std::chrono::seconds kCallTimeout{10};

  void SetUp() override;

  // A bus on its own NATS connection. nullptr after an ADD_FAILURE.
  std::unique_ptr<Bus> open_bus(BusOptions options, bool shared_reply_inbox = false);
  // BusOptions with `agent_id` (and `tenant`) and the default timeout kCallTimeout.
  static BusOptions bus_options(const std::string& agent_id, const std::string& tenant = "");

  // peer.py serve / call with --agent-id and extra arguments.
  std::unique_ptr<PythonPeer> serve_py(const std::string& agent_id, std::vector<std::string> args = {});
  std::unique_ptr<PythonPeer> call_py(const std::string& agent_id, std::vector<std::string> args = {});

  NatsServer nats_;  // declared first: destroyed after everything a test created
};

}  // namespace oaio::test
