#include "call_table.h"

#include "oaio/envelope.h"

namespace oaio::host {
namespace {

std::uint64_t id_of(const oaio_call* handle) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(handle)); }

}  // namespace

const std::string& PluginCall::metadata_text() {
  std::call_once(metadata_once_, [this] {
    const Metadata& m = call->request().metadata;
    if (m.empty()) return;
    std::string out = "{";
    for (const auto& [key, raw_value] : m) {
      if (out.size() > 1) out += ',';
      out += json_quote(key);
      out += ':';
      out += raw_value;  // metadata values are kept as raw JSON text
    }
    out += '}';
    metadata_text_ = std::move(out);
  });
  return metadata_text_;
}

oaio_call* CallTable::add(std::shared_ptr<PluginCall> call) {
  std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  s.calls.emplace(id, std::move(call));
  return reinterpret_cast<oaio_call*>(static_cast<std::uintptr_t>(id));
}

std::shared_ptr<PluginCall> CallTable::get(const oaio_call* handle) const {
  std::uint64_t id = id_of(handle);
  Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  auto it = s.calls.find(id);
  return it == s.calls.end() ? nullptr : it->second;
}

std::shared_ptr<PluginCall> CallTable::take(const oaio_call* handle) {
  std::uint64_t id = id_of(handle);
  Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  auto it = s.calls.find(id);
  if (it == s.calls.end()) return nullptr;
  auto call = std::move(it->second);
  s.calls.erase(it);
  return call;
}

std::size_t CallTable::size() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.calls.size();
  }
  return n;
}

CallTable& call_table() {
  static CallTable* table = new CallTable();  // never destroyed: plugins may call late at exit
  return *table;
}

}  // namespace oaio::host
