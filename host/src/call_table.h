// CallTable: the inbound calls handed to plugins, by handle. A plugin gets an opaque
// oaio_call* that is really a table id, never a pointer into host memory, so a plugin
// that completes a call twice or after cancellation gets OAIO_ERR_CLOSED instead of a
// use-after-free.
//
// Thread-safety: all methods are thread-safe (sharded locks).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "oaio/call.h"
#include "oaio/plugin.h"

namespace oaio::host {

class BridgeHost;

// One inbound call handed to a plugin.
struct PluginCall {
 public:
  std::shared_ptr<Call> call;     // the bus call (request, writer, cancellation)
  Done done;                      // completes it on the bus
  BridgeHost* bridge = nullptr;   // the bridge serving it; outlives its calls
  void* target_user_data = nullptr;
  bool streaming_target = false;  // registered with handle_stream (has a writer)
  std::atomic<bool> cancelled{false};

  // The request metadata as JSON object text ("" when there is none), built on the
  // first call_info that asks: most calls never need it. Thread-safe.
  const std::string& metadata_text();

 private:
  std::once_flag metadata_once_;
  std::string metadata_text_;  // written once under metadata_once_
};

class CallTable {
 public:
  // Adds a call; returns its handle (never NULL).
  oaio_call* add(std::shared_ptr<PluginCall> call);
  // The call, or nullptr when the handle is unknown or already completed.
  std::shared_ptr<PluginCall> get(const oaio_call* handle) const;
  // Removes and returns the call (completion); nullptr when already gone.
  std::shared_ptr<PluginCall> take(const oaio_call* handle);
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::uint64_t, std::shared_ptr<PluginCall>> calls;  // guarded by mu
  };
  Shard& shard(std::uint64_t id) const { return shards_[id % kShards]; }

  std::atomic<std::uint64_t> next_id_{1};
  mutable std::array<Shard, kShards> shards_;
};

// The process-wide table (handles must be unique across bridges).
CallTable& call_table();

}  // namespace oaio::host
