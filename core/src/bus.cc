// Bus::open, the owning Bus handle and the blocking conveniences over the async API.
#include "oaio/bus.h"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "bus_core.h"
#include "oaio/subject.h"

namespace oaio {
namespace {

// The Bus the user owns: forwards to the core and shuts it down when destroyed.
class BusHandle final : public Bus {
 public:
  explicit BusHandle(std::shared_ptr<detail::BusCore> core) : core_(std::move(core)) {}
  ~BusHandle() override { core_->shutdown(); }

  void invoke_async(std::string_view target, Envelope request, CallOptions options,
                    std::function<void(Result<Envelope>)> done) override {
    core_->invoke_async(target, std::move(request), options, std::move(done));
  }
  CancelFn stream_invoke_async(std::string_view target, Envelope request, CallOptions options, FrameHandler on_frame,
                               StreamEndHandler on_end) override {
    return core_->stream_invoke_async(target, std::move(request), options, std::move(on_frame), std::move(on_end));
  }
  Result<std::unique_ptr<ClientStream>> stream_invoke(std::string_view target, Envelope request,
                                                      CallOptions options) override {
    return core_->stream_invoke(target, std::move(request), options);
  }
  Status publish(Envelope event) override { return core_->publish(std::move(event)); }
  Result<Subscription> subscribe(std::string_view event_type, EventHandler handler,
                                 SubscribeOptions options) override {
    return core_->subscribe(event_type, std::move(handler), std::move(options));
  }
  Result<Subscription> subscribe_raw(std::string_view subject, EventHandler handler,
                                     SubscribeOptions options) override {
    return core_->subscribe_raw(subject, std::move(handler), std::move(options));
  }
  void use(Middleware middleware) override { core_->use(std::move(middleware)); }
  Result<Subscription> handle_invoke(std::string_view target, Handler handler, HandlerOptions options) override {
    return core_->handle(target, std::move(handler), std::move(options), false);
  }
  Result<Subscription> handle_stream(std::string_view target, Handler handler, HandlerOptions options) override {
    return core_->handle(target, std::move(handler), std::move(options), true);
  }
  Status drain(std::chrono::milliseconds deadline) override { return core_->drain(deadline); }
  const BusOptions& options() const override { return core_->options(); }
  BusStats stats() const override { return core_->stats(); }
  Transport& transport() override { return core_->transport(); }

 private:
  std::shared_ptr<detail::BusCore> core_;
};

}  // namespace

Result<std::unique_ptr<Bus>> Bus::open(std::shared_ptr<Transport> transport, BusOptions options) {
  if (!transport) return Status::invalid("Bus::open needs a transport");
  OAIO_RETURN_IF_ERROR(check_subject_name("prefix", options.prefix));
  if (!options.tenant.empty()) OAIO_RETURN_IF_ERROR(check_subject_name("tenant", options.tenant));
  if (options.agent_id.empty()) return Status::invalid("agent_id must not be empty");
  auto core = std::make_shared<detail::BusCore>(std::move(transport), std::move(options));
  core->init();
  return std::unique_ptr<Bus>(std::make_unique<BusHandle>(std::move(core)));
}

Result<Envelope> Bus::invoke(std::string_view target, Envelope request, CallOptions options) {
  struct Slot {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<Envelope>> result;
  };
  auto slot = std::make_shared<Slot>();
  invoke_async(target, std::move(request), options, [slot](Result<Envelope> r) {
    {
      std::lock_guard lock(slot->mu);
      slot->result.emplace(std::move(r));
    }
    slot->cv.notify_one();
  });
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
