// The standard middleware: recover, trace, logging, retry, dead-letter (WIRE.md §8–9).
#include "oaio/middleware.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <string>

#include "oaio/bus.h"
#include "oaio/subject.h"

namespace oaio::middleware {
namespace {

Status panic(const char* what) { return Status::unavailable(std::string("handler panic: ") + what); }

}  // namespace

Middleware recover() {
  return [](Handler next) -> Handler {
    return [next = std::move(next)](const std::shared_ptr<Call>& call, Done done) {
      auto completed = std::make_shared<std::atomic<bool>>(false);
      Done once = [done = std::move(done), completed, target = call->target()](Result<Envelope> r) {
        if (completed->exchange(true)) return;  // a buggy handler completing twice: ignored
        done(std::move(r));
      };
      try {
        next(call, once);
      } catch (const std::exception& e) {
        once(panic(e.what()));
      } catch (...) {
        once(panic("unknown exception"));
      }
    };
  };
}

Middleware trace() {
  return [](Handler next) -> Handler {
    return [next = std::move(next)](const std::shared_ptr<Call>& call, Done done) {
      CallScope scope(call.get());
      next(call, std::move(done));
    };
  };
}

Middleware logging(std::shared_ptr<Logger> logger) {
  return [logger](Handler next) -> Handler {
    return [logger, next = std::move(next)](const std::shared_ptr<Call>& call, Done done) {
      auto start = std::chrono::steady_clock::now();
      std::string what = call->target() + " " + call->request().event_id;
      if (logger->enabled(LogLevel::kDebug)) logger->log(LogLevel::kDebug, "handling " + what);
      next(call, [logger, what, start, done = std::move(done)](Result<Envelope> r) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
        if (!r.ok()) {
          if (logger->enabled(LogLevel::kWarn))
            logger->log(LogLevel::kWarn, "handler " + what + " failed after " + std::to_string(us.count()) +
                                             " us: " + r.status().to_string());
        } else if (logger->enabled(LogLevel::kDebug)) {
          logger->log(LogLevel::kDebug, "handled " + what + " in " + std::to_string(us.count()) + " us");
        }
        done(std::move(r));
      });
    };
  };
}

Middleware retry(RetryOptions options) {
  options.max_attempts = std::max(1, options.max_attempts);
  return [options](Handler next) -> Handler {
    return [options, next = std::move(next)](const std::shared_ptr<Call>& call, Done done) {
      struct Attempt {
        int number = 0;
        std::function<void()> run;
      };
      // `run` holds the state only weakly; the pending completion callback holds it
      // strongly, so the state lives exactly as long as an attempt is outstanding.
      auto state = std::make_shared<Attempt>();
      std::weak_ptr<Attempt> weak = state;
      state->run = [options, next, call, done, weak] {
        auto self = weak.lock();
        if (!self) return;
        ++self->number;
        call->mutable_request().metadata[std::string(meta_key::kRetryAttempt)] = std::to_string(self->number);
        next(call, [options, call, done, self](Result<Envelope> r) {
          bool give_up = r.ok() || self->number >= options.max_attempts || call->cancelled() ||
                         (options.only_retryable && !r.status().retryable()) ||
                         // A stream is never retried once the caller has seen a frame of it.
                         (call->is_stream() && (call->writer().frames_sent() > 0 || call->writer().closed()));
          if (give_up) return done(std::move(r));
          auto backoff = options.initial_backoff * (1 << std::min(self->number - 1, 20));
          backoff = std::min(backoff, options.max_backoff);
          call->post_after(backoff, [self] { self->run(); });
        });
      };
      state->run();
    };
  };
}

Middleware dead_letter() {
  return [](Handler next) -> Handler {
    return [next = std::move(next)](const std::shared_ptr<Call>& call, Done done) {
      next(call, [call, done = std::move(done)](Result<Envelope> r) {
        if (r.ok()) return done(std::move(r));
        Status error = r.status();
        Status sent = publish_dead_letter(call->bus(), call->request(), error.message());
        if (!sent.ok()) {
          error = Status(error.code(), "dlq publish failed: " + sent.message() + " (original: " + error.message() + ")",
                         error.retryable());
        }
        done(error);
      });
    };
  };
}

}  // namespace oaio::middleware

namespace oaio {

Status publish_dead_letter(Bus& bus, Envelope original, std::string_view last_error) {
  OAIO_RETURN_IF_ERROR(check_subject_name("event type", original.event_type));
  // A complete copy of the envelope, stamped with why it failed.
  original.metadata[std::string(meta_key::kDlqOriginalEventType)] = json_quote(original.event_type);
  if (!last_error.empty()) original.metadata[std::string(meta_key::kDlqLastError)] = json_quote(last_error);
  auto bytes = encode_envelope(original);
  if (!bytes.ok()) return bytes.status();
  return bus.transport().publish(dlq_subject(bus.options().prefix, original.event_type), {}, bytes.value());
}

}  // namespace oaio
