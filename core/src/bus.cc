// Bus::open and the blocking conveniences over the async API.
#include "oaio/bus.h"

#include <atomic>

#include "spin_wait.h"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "bus_core.h"
#include "oaio/subject.h"

namespace oaio {
Result<std::unique_ptr<Bus>> Bus::open(std::shared_ptr<Transport> transport, BusOptions options) {
  if (!transport) return Status::invalid("Bus::open needs a transport");
  OAIO_RETURN_IF_ERROR(check_subject_name("prefix", options.prefix));
  if (!options.tenant.empty()) OAIO_RETURN_IF_ERROR(check_subject_name("tenant", options.tenant));
  if (options.agent_id.empty()) return Status::invalid("agent_id must not be empty");
  auto core = std::make_shared<detail::BusCore>(std::move(transport), std::move(options));
  core->init();
  // The user's handle owns the core and shuts it down when destroyed.
  return std::unique_ptr<Bus>(std::make_unique<detail::BusForwarder>(std::move(core)));
}

Result<Envelope> Bus::invoke(std::string_view target, Envelope request, CallOptions options) {
  return invoke_blocking(target, std::move(request), std::move(options));
}

Result<Envelope> Bus::invoke_blocking(std::string_view target, Envelope&& request, CallOptions options) {
  struct Slot {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<Envelope>> result;  // guarded by mu
    std::atomic<bool> ready{false};          // set after result, for polling
  };
  auto slot = std::make_shared<Slot>();
  invoke_async(target, std::move(request), options, [slot](Result<Envelope>&& r) {
    {
      std::lock_guard lock(slot->mu);
      slot->result.emplace(std::move(r));
      slot->ready.store(true, std::memory_order_release);
    }
    slot->cv.notify_one();
  });
  // An in-process reply usually arrives within the poll: no sleep and no wake-up (see
  // spin_wait.h). A reply over the network takes tens of microseconds at best, so
  // polling for it would only burn CPU that the transport's threads need.
  if (transport().capabilities().in_process) {
    detail::spin_until([&] { return slot->ready.load(std::memory_order_acquire); }, this->options().idle_spin);
  }
  std::unique_lock lock(slot->mu);
  slot->cv.wait(lock, [&] { return slot->result.has_value(); });
  return std::move(*slot->result);
}

Result<Envelope> Bus::invoke_payload(std::string_view target, std::string payload_json, CallOptions options) {
  Envelope request;
  request.payload = std::move(payload_json);
  return invoke(target, std::move(request), options);
}

Status Bus::publish(std::string_view event_type, std::string payload_json) {
  Envelope event;
  event.event_type = std::string(event_type);
  event.payload = std::move(payload_json);
  return publish(std::move(event));
}

Status reply_status(const Envelope& reply) {
  if (reply.event_type != event_type::kResponseError) return Status();
  return decode_error_payload(reply.payload);
}

}  // namespace oaio
