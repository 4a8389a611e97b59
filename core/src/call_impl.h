// CallImpl: one inbound request being served. It owns the request copy, the stream
// writer (created on first use, see writer()) and the cancellation state; the bus core
// completes it.
//
// Thread-safety: cancellation is thread-safe; mutable_request() is for middleware
// running before the handler (single-threaded by construction of the chain).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "oaio/call.h"
#include "stream_writer_impl.h"

namespace oaio::detail {

class BusCore;

class CallImpl final : public Call {
 public:
  CallImpl(Envelope&& request, std::string target, bool is_stream, Bus* bus)
      : request_(std::move(request)), target_(std::move(target)), is_stream_(is_stream), bus_(bus) {}

  const Envelope& request() const override { return request_; }
  Envelope& mutable_request() override { return request_; }
  const std::string& target() const override { return target_; }
  bool is_stream() const override { return is_stream_; }
  // The writer is made on first use: an Invoke caller of a stream target (serve_invoke)
  // usually never needs one, and then its reply takes the plain Invoke path.
  StreamWriter& writer() override { return *ensure_writer(); }
  Bus& bus() override { return *bus_; }

  bool cancelled() const override {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  void on_cancel(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (!cancelled_) {
        // Most calls register one callback (the host's cancel hook): it needs no vector.
        if (!first_cancel_callback_) {
          first_cancel_callback_ = std::move(fn);
        } else {
          cancel_callbacks_.push_back(std::move(fn));
        }
        return;
      }
    }
    fn();
  }

  void post_after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    if (scheduler_) (*scheduler_)(delay, std::move(fn));
  }
  using Scheduler = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  // One scheduler is shared by all the calls of a bus (no per-call closure).
  void set_scheduler(std::shared_ptr<const Scheduler> scheduler) { scheduler_ = std::move(scheduler); }

  // The lane slot the call holds while it runs: set before the handler starts, given
  // back once by the completion.
  void set_release(std::function<void()> release) { release_ = std::move(release); }
  void release_slot() {
    if (auto release = std::move(release_)) release();
  }

  // True the first time only: a handler's Done may be called once.
  bool mark_completed() { return !completed_.exchange(true, std::memory_order_acq_rel); }

  // Fires the cancellation callbacks once.
  void cancel() {
    std::function<void()> first;
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      first.swap(first_cancel_callback_);
      callbacks.swap(cancel_callbacks_);
    }
    if (first) first();
    for (auto& fn : callbacks) fn();
  }

  // Work to undo when the call completes ([E2] cancel subscription, ...). Runs once.
  void add_cleanup(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    cleanups_.push_back(std::move(fn));
  }
  void run_cleanups() {
    std::vector<std::function<void()>> cleanups;
    {
      std::lock_guard lock(mu_);
      cleanups.swap(cleanups_);
    }
    for (auto& fn : cleanups) fn();
  }

  // Where writer() gets its writer from: set by the core before dispatch.
  using WriterFactory = std::shared_ptr<StreamWriterImpl> (*)(BusCore& core, const CallImpl& call);
  void set_writer_factory(std::weak_ptr<BusCore> core, WriterFactory factory) {
    core_ = std::move(core);
    factory_ = factory;
  }
  // The writer, made now if it was not yet. Thread-safe.
  StreamWriterImpl* ensure_writer();
  // The writer if one was made, else null: whether the handler wrote the reply as a stream.
  StreamWriterImpl* writer_if_made() const { return writer_ptr_.load(std::memory_order_acquire); }
  // Keeps the writer alive for work that may outlive the call ([E3] heartbeats).
  std::shared_ptr<StreamWriterImpl> shared_writer() {
    ensure_writer();
    return writer_;
  }

 private:
  Envelope request_;
  const std::string target_;
  const bool is_stream_;
  Bus* bus_;  // the core's internal view; lives as long as the core, which this call keeps alive
  std::weak_ptr<BusCore> core_;
  WriterFactory factory_ = nullptr;
  std::once_flag writer_once_;
  std::shared_ptr<StreamWriterImpl> writer_;  // written once, inside writer_once_
  std::atomic<StreamWriterImpl*> writer_ptr_{nullptr};
  std::shared_ptr<const Scheduler> scheduler_;
  std::function<void()> release_;  // written before the handler starts; used once at completion
  std::atomic<bool> completed_{false};
  mutable std::mutex mu_;
  bool cancelled_ = false;                                // guarded by mu_
  std::function<void()> first_cancel_callback_;           // guarded by mu_; then the vector's
  std::vector<std::function<void()>> cancel_callbacks_;   // guarded by mu_
  std::vector<std::function<void()>> cleanups_;           // guarded by mu_
};

}  // namespace oaio::detail
