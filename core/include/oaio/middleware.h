// Standard middleware for inbound handlers (WIRE.md §8–9). Add them with Bus::use(),
// outermost first; the usual order is recover, trace, logging, dead_letter, retry:
//   bus->use(middleware::recover());
//   bus->use(middleware::dead_letter());
//   bus->use(middleware::retry({.max_attempts = 3}));
//
// Thread-safety: the returned middleware and the handlers they build are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "oaio/call.h"
#include "oaio/log.h"

namespace oaio::middleware {

// Turns an exception thrown by the inner handler (synchronously) into AGENT_UNAVAILABLE
// "handler panic: <what>", and a second Done call into a logged no-op.
Middleware recover();

// Makes the call the current call of the thread while the inner chain runs, so nested
// Invoke/StreamInvoke/Publish inherit session, conversation, trace id and a child
// traceparent (WIRE.md §8). The bus installs it by default when propagate_context is on;
// exposed for custom chains.
Middleware trace();

// Logs each request (debug) and each failure (warn) with target, event id and duration.
Middleware logging(std::shared_ptr<Logger> logger);

struct RetryOptions {
  int max_attempts = 3;                          // including the first
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  // Retry only errors whose Status::retryable() is true (timeouts, transport); when
  // false every error is retried.
  bool only_retryable = false;
};
// Re-runs a failed handler, writing "acp.retry.attempt" (1, 2, ...) into the request
// metadata before each attempt. A stream handler is never retried once it has sent a
// frame.
Middleware retry(RetryOptions options = {});

// After the inner chain failed (retries exhausted), publishes a copy of the request to
// P.dlq.<event_type> with acp.dlq.original_event_type and acp.dlq.last_error; the caller
// still gets the error. A failed DLQ publish turns the error into
// "dlq publish failed: <dlq error> (original: <error>)".
Middleware dead_letter();

}  // namespace oaio::middleware

namespace oaio {

// Publishes `original` (an inbound request or event, kept whole: event_id, reply_to,
// payload) to the dead-letter subject P.dlq.<event_type> of `bus` (WIRE.md §9: never
// tenant-scoped), stamped with acp.dlq.original_event_type and, when `last_error` is
// not empty, acp.dlq.last_error. Used by middleware::dead_letter and by the host for
// plugins (host_api.dead_letter). Fails with INVALID_REQUEST for an event type that is
// not a valid subject name, else with the transport's error. Thread-safe.
Status publish_dead_letter(Bus& bus, Envelope original, std::string_view last_error);

}  // namespace oaio
