// Sync handler adapters and the thread's current call (context propagation).
#include "oaio/call.h"

#include <exception>
#include <string>

namespace oaio {
namespace {

thread_local Call* t_current_call = nullptr;

Status panic_status(const char* what) { return Status::unavailable(std::string("handler panic: ") + what); }

}  // namespace

Call* current_call() noexcept { return t_current_call; }

CallScope::CallScope(Call* call) noexcept : previous_(t_current_call) { t_current_call = call; }
CallScope::~CallScope() { t_current_call = previous_; }

Handler sync_invoke(InvokeFn fn) {
  return [fn = std::move(fn)](const std::shared_ptr<Call>& call, Done done) {
    CallScope scope(call.get());
    try {
      done(fn(*call));
    } catch (const std::exception& e) {
      done(panic_status(e.what()));
    } catch (...) {
      done(panic_status("unknown exception"));
    }
  };
}

Handler sync_stream(StreamFn fn) {
  return [fn = std::move(fn)](const std::shared_ptr<Call>& call, Done done) {
    CallScope scope(call.get());
    Status outcome;
    try {
      outcome = fn(*call, call->writer());
    } catch (const std::exception& e) {
      outcome = panic_status(e.what());
    } catch (...) {
      outcome = panic_status("unknown exception");
    }
    if (outcome.ok()) {
      done(Envelope{});
    } else {
      done(outcome);
    }
  };
}

}  // namespace oaio
