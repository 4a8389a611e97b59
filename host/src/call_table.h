// CallTable: the inbound calls handed to plugins, by handle. A plugin gets an opaque
// oaio_call* that is really a (slot, generation) pair, never a pointer into host
// memory, so a plugin that completes a call twice or after cancellation gets
// OAIO_ERR_CLOSED instead of a use-after-free.
//
// The table is a pool: each slot holds one PluginCall inline and is reused when the
// call is over, so starting and ending a call allocates nothing and takes no lock (the
// per-call cost is a few atomic operations). Slots live in chunks that are never freed,
// so any handle, however stale, can be looked up safely.
//
// Lifetime: a slot is "live" from add() until take(); a CallRef pins it, and the slot is
// recycled when the last pin goes (the live state counts as one pin, which take()
// hands to its caller). A PluginCall is therefore valid while a CallRef to it exists.
//
// While the host hands a call to its plugin (HandOff), it holds a pin on it for the
// whole call of the plugin's function, so a get() of that call from the same thread
// (the plugin asking for its call's info, the common case) borrows that pin instead
// of taking one: two atomic read-modify-writes less per call.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "call_clock.h"
#include "metrics.h"
#include "oaio/call.h"
#include "oaio/plugin.h"

namespace oaio::host {

class BridgeHost;

// A target's per-call metric series, resolved when the target is registered.
struct TargetMetrics {
  MetricSeries ok, failed, duration;
};

// One inbound call handed to a plugin. Written by BridgeHost::run_call before the
// handle becomes live; after that only `done` (moved out by the one taker),
// `cancelled` and the lazy metadata change.
struct PluginCall {
  std::shared_ptr<Call> call;     // the bus call (request, writer, cancellation)
  Done done;                      // completes it on the bus; called by the taker only
  BridgeHost* bridge = nullptr;   // the bridge serving it; outlives its calls
  void* target_user_data = nullptr;
  bool streaming_target = false;  // registered with handle_stream (has a writer)
  TargetMetrics metrics;          // copied from the target (series outlive bridges)
  CallClock::Stamp started = 0;
  std::atomic<bool> cancelled{false};  // the plugin's cancel hook ran (at most once)

  // The request metadata as JSON object text ("" when there is none), built on the
  // first call_info that asks: most calls never need it. Thread-safe.
  const std::string& metadata_text();

 private:
  friend class CallTable;
  void reset();  // back to a blank call, for reuse (no pins left)

  std::mutex metadata_mu_;
  std::atomic<bool> metadata_ready_{false};
  std::string metadata_text_;  // written once under metadata_mu_, before metadata_ready_
};

class CallTable;

// A pin on one PluginCall (move-only). Empty when the lookup failed.
class CallRef {
 public:
  CallRef() = default;
  CallRef(CallRef&& other) noexcept : table_(other.table_), index_(other.index_), borrowed_(other.borrowed_) {
    other.table_ = nullptr;
  }
  CallRef& operator=(CallRef&& other) noexcept;
  CallRef(const CallRef&) = delete;
  CallRef& operator=(const CallRef&) = delete;
  ~CallRef() { release(); }

  explicit operator bool() const { return table_ != nullptr; }
  inline PluginCall* operator->() const;  // defined below CallTable
  PluginCall& operator*() const { return *operator->(); }

 private:
  friend class CallTable;
  CallRef(CallTable* table, std::uint32_t index, bool borrowed = false)
      : table_(table), index_(index), borrowed_(borrowed) {}
  void release();

  CallTable* table_ = nullptr;
  std::uint32_t index_ = 0;
  bool borrowed_ = false;  // another CallRef on this thread's stack holds the pin
};

class CallTable {
 public:
  CallTable() = default;
  CallTable(const CallTable&) = delete;
  CallTable& operator=(const CallTable&) = delete;

  // Starts a call: `init(PluginCall&)` fills a blank call, which then becomes live.
  // Sets *handle (never NULL) and returns a pin the caller holds while it still uses
  // the call. Returns an empty ref (and *handle = NULL) when the table is full.
  template <typename Init>
  CallRef add(Init&& init, oaio_call** handle) {
    std::uint32_t index;
    if (!pop_free(&index)) {
      *handle = nullptr;
      return CallRef();
    }
    init(slot(index).pc);
    *handle = publish(index);
    return CallRef(this, index);
  }
  // The call, pinned, or an empty ref when the handle is unknown or already taken.
  CallRef get(const oaio_call* handle);
  // Ends the live state (completion): the first caller gets the call, later ones and
  // unknown handles get an empty ref.
  CallRef take(const oaio_call* handle);
  // True while the call is live (not yet taken). A snapshot: it may end right after.
  bool live(const oaio_call* handle) const;
  // Handles of the live calls served by `bridge` (for failing them at stop).
  std::vector<oaio_call*> live_handles(const BridgeHost* bridge);

  // Marks `handle` as the call this thread is handing to its plugin while the scope
  // lives; `held` is the caller's pin on it, which must outlive the scope. Nests.
  class HandOff {
   public:
    HandOff(const CallRef& held, const oaio_call* handle);
    ~HandOff();
    HandOff(const HandOff&) = delete;
    HandOff& operator=(const HandOff&) = delete;

   private:
    const oaio_call* previous_handle_;
    const CallTable* previous_table_;
  };

 private:
  friend class CallRef;
  // word_: generation (high 32 bits) | kLive | pin count (low 31 bits).
  static constexpr std::uint64_t kLive = 1ull << 31;
  static constexpr std::uint64_t kPinMask = kLive - 1;
  static constexpr std::uint32_t kChunkBits = 8;  // 256 slots (~60 KiB) per chunk
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr std::uint32_t kMaxChunks = 4096;  // ~1M concurrent calls

  struct Slot {
    std::atomic<std::uint64_t> word{0};
    std::atomic<std::uint32_t> next_free{0};  // index + 1 of the next free slot; 0 = none
    PluginCall pc;
  };

  Slot& slot(std::uint32_t index) const {
    return chunks_[index >> kChunkBits].load(std::memory_order_acquire)[index & (kChunkSize - 1)];
  }
  Slot* find(const oaio_call* handle, std::uint32_t* index, std::uint32_t* generation) const;
  CallRef pin(const oaio_call* handle, bool take_live);
  oaio_call* publish(std::uint32_t index);
  void unpin(std::uint32_t index);
  bool pop_free(std::uint32_t* index);
  void push_free(std::uint32_t index);
  bool grow(std::uint32_t* index);

  // Free list: a Treiber stack; head = tag (high 32 bits, against ABA) | index + 1.
  std::atomic<std::uint64_t> free_head_{0};
  std::mutex grow_mu_;  // serialises adding chunks
  std::atomic<std::uint32_t> size_{0};  // slots allocated so far
  mutable std::array<std::atomic<Slot*>, kMaxChunks> chunks_{};  // never freed
};

inline PluginCall* CallRef::operator->() const { return &table_->slot(index_).pc; }

// The process-wide table (handles must be unique across bridges).
CallTable& call_table();

}  // namespace oaio::host
