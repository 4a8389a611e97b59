// CallImpl: one inbound request being served. It owns the request copy, the stream
// writer (for streams) and the cancellation state; the bus core completes it.
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

class CallImpl final : public Call {
 public:
  CallImpl(Envelope request, std::string target, bool is_stream, Bus* bus)
      : request_(std::move(request)), target_(std::move(target)), is_stream_(is_stream), bus_(bus) {}

  const Envelope& request() const override { return request_; }
  Envelope& mutable_request() override { return request_; }
  const std::string& target() const override { return target_; }
  bool is_stream() const override { return is_stream_; }
  StreamWriter& writer() override { return *writer_; }
  Bus& bus() override { return *bus_; }

  bool cancelled() const override {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  void on_cancel(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (!cancelled_) {
        cancel_callbacks_.push_back(std::move(fn));
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
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      callbacks.swap(cancel_callbacks_);
    }
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

  void set_writer(std::shared_ptr<StreamWriterImpl> writer) { writer_ = std::move(writer); }
  const std::shared_ptr<StreamWriterImpl>& writer_impl() const { return writer_; }

 private:
  Envelope request_;
  const std::string target_;
  const bool is_stream_;
  Bus* bus_;  // the core's internal view; lives as long as the core, which this call keeps alive
  std::shared_ptr<StreamWriterImpl> writer_;
  std::shared_ptr<const Scheduler> scheduler_;
  std::function<void()> release_;  // written before the handler starts; used once at completion
  std::atomic<bool> completed_{false};
  mutable std::mutex mu_;
  bool cancelled_ = false;                                // guarded by mu_
  std::vector<std::function<void()>> cancel_callbacks_;   // guarded by mu_
  std::vector<std::function<void()>> cleanups_;           // guarded by mu_
};

}  // namespace oaio::detail
