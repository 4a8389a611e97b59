#include "call_impl.h"

namespace oaio::detail {

StreamWriterImpl* CallImpl::ensure_writer() {
  std::call_once(writer_once_, [this] {
    auto core = core_.lock();
    if (core && factory_) {
      writer_ = factory_(*core, *this);
    } else {
      // The bus is gone (or this target never streams): a writer that sends nothing.
      writer_ = std::make_shared<StreamWriterImpl>(request_, std::string(),
                                                   [](const Envelope&) { return Status::transport("bus closed"); });
    }
    writer_ptr_.store(writer_.get(), std::memory_order_release);
  });
  return writer_ptr_.load(std::memory_order_acquire);
}

}  // namespace oaio::detail
