// The HTTP gateway's protocol rules (WIRE.md §10) as plain functions, free of any HTTP
// library: bearer check, how a bus failure or an error reply becomes an HTTP answer,
// the request size the bus will publish, and the SSE framing with its synthetic error
// frame. gateway.cc wires them to cpp-httplib.
//
// Thread-safety: every function is thread-safe (no shared state).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "oaio/bus.h"
#include "oaio/envelope.h"
#include "oaio/result.h"

namespace oaio::host::gateway_wire {

// The SSE comment written in place of [E3] heartbeats (WIRE.md §10).
inline constexpr std::string_view kKeepAlive = ": keep-alive\n\n";

// An HTTP error answer: the status and the error whose ErrorPayload is the body.
struct HttpError {
  int status = 500;
  Status error;
};

// True when `authorization` is "Bearer <token>" with the scheme in any case, a
// non-empty token, and the token equal to `expected` (compared in constant time).
bool bearer_matches(std::string_view authorization, std::string_view expected);

// A local failure of Invoke, StreamInvoke or Publish as the gateway answers it:
// AGENT_TIMEOUT 504 (retryable), NO_HANDLER 404, INVALID_REQUEST 400 (413 when the
// transport refused the size), anything else 502 AGENT_UNAVAILABLE whose message keeps
// the original code ("TRANSPORT_FAILURE: ..."). REQUIRES: !failure.ok().
HttpError map_bus_error(const Status& failure);

// An agent.response.error reply as the gateway returns it: the status WIRE.md §7 gives
// its code (500 for a code outside the ACP set) and its own ErrorPayload as the body:
// verbatim when complete, else rebuilt with a missing code as AGENT_UNAVAILABLE, a
// missing message as "agent error" and a missing retryable as the code's default.
struct ErrorReply {
  int status = 502;
  std::string body;
  std::string code;  // for metrics
};
ErrorReply error_reply(std::string_view payload_json);

// The size in bytes of `request` as the bus will publish it to `target` (WIRE.md §4):
// from, to, tenant and a reply inbox filled in, plus the stream opt-in metadata
// ("acp.stream", [E2] "acp.cancel", [E3] "acp.heartbeat_ms") when `stream`. 0 when it
// cannot be encoded; the bus then reports that error itself.
std::size_t request_wire_size(Bus& bus, std::string_view target, Envelope request, bool stream,
                              std::chrono::milliseconds heartbeat);

// `json` without the insignificant whitespace outside strings: one line, as Go writes
// a json.RawMessage inside an envelope.
std::string compact_json(std::string_view json);

// One SSE event for `frame`: "event: <event_type>", "id: <event_id>" (omitted when
// empty), "retry: <ms>" (omitted when `retry` is 0), "data: <compact envelope JSON>",
// then an empty line. Fails with CODEC_FAILURE when the frame cannot be encoded.
Result<std::string> sse_event(const Envelope& frame, std::chrono::milliseconds retry);

// The error a stream that failed after its headers reports (WIRE.md §10): AGENT_TIMEOUT
// (retryable) for a timeout, BACKPRESSURE_DROP (retryable) for an overflow, otherwise
// AGENT_UNAVAILABLE (not retryable) whose message names the original code.
Status synthetic_error(const Status& failure);

// The synthetic terminal frame: agent.response.error / response.error, is_final, payload
// {code, message, retryable} of synthetic_error(failure), correlation_id = request_id.
Envelope synthetic_error_frame(const Status& failure, std::string_view request_id);

}  // namespace oaio::host::gateway_wire
