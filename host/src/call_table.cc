#include "call_table.h"

#include "oaio/envelope.h"

namespace oaio::host {
namespace {

static_assert(sizeof(void*) >= sizeof(std::uint64_t), "a call handle packs a 64-bit slot id into a pointer");

std::uint64_t id_of(const oaio_call* handle) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(handle)); }
std::uint32_t generation_of(std::uint64_t word) { return static_cast<std::uint32_t>(word >> 32); }

// The call this thread is handing to its plugin (CallTable::HandOff), if any.
thread_local const oaio_call* t_handed_off = nullptr;
thread_local const CallTable* t_handed_off_table = nullptr;

}  // namespace

// ---- PluginCall -------------------------------------------------------------------

const std::string& PluginCall::metadata_text() {
  static const std::string kNone;
  if (call->request().metadata.empty()) return kNone;  // the common case: no lock
  if (metadata_ready_.load(std::memory_order_acquire)) return metadata_text_;
  std::lock_guard lock(metadata_mu_);
  if (!metadata_ready_.load(std::memory_order_relaxed)) {
    std::string out = "{";
    for (const auto& [key, raw_value] : call->request().metadata) {
      if (out.size() > 1) out += ',';
      out += json_quote(key);
      out += ':';
      out += raw_value;  // metadata values are kept as raw JSON text
    }
    out += '}';
    metadata_text_ = std::move(out);
    metadata_ready_.store(true, std::memory_order_release);
  }
  return metadata_text_;
}

void PluginCall::reset() {
  call.reset();
  done = nullptr;
  bridge = nullptr;
  target_user_data = nullptr;
  streaming_target = false;
  metrics = TargetMetrics{};
  cancelled.store(false, std::memory_order_relaxed);
  metadata_text_.clear();
  metadata_ready_.store(false, std::memory_order_relaxed);
}

// ---- CallRef ----------------------------------------------------------------------

CallRef& CallRef::operator=(CallRef&& other) noexcept {
  if (this != &other) {
    release();
    table_ = other.table_;
    index_ = other.index_;
    borrowed_ = other.borrowed_;
    other.table_ = nullptr;
  }
  return *this;
}

void CallRef::release() {
  if (table_ && !borrowed_) table_->unpin(index_);
  table_ = nullptr;
}

// ---- CallTable::HandOff -----------------------------------------------------------

CallTable::HandOff::HandOff(const CallRef& held, const oaio_call* handle)
    : previous_handle_(t_handed_off), previous_table_(t_handed_off_table) {
  t_handed_off = handle;
  t_handed_off_table = held.table_;
}

CallTable::HandOff::~HandOff() {
  t_handed_off = previous_handle_;
  t_handed_off_table = previous_table_;
}

// ---- CallTable --------------------------------------------------------------------

// Handle = generation << 32 | (index + 1): never NULL, and stale once the slot is reused.
CallTable::Slot* CallTable::find(const oaio_call* handle, std::uint32_t* index, std::uint32_t* generation) const {
  std::uint64_t id = id_of(handle);
  std::uint32_t low = static_cast<std::uint32_t>(id);
  if (low == 0 || low > size_.load(std::memory_order_acquire)) return nullptr;
  *index = low - 1;
  *generation = static_cast<std::uint32_t>(id >> 32);
  return &slot(*index);
}

oaio_call* CallTable::publish(std::uint32_t index) {
  Slot& s = slot(index);
  std::uint32_t generation = generation_of(s.word.load(std::memory_order_relaxed));
  // Two pins: the live state's and the one add() returns. Release: the filled call is
  // visible to whoever pins it through the handle.
  s.word.store(static_cast<std::uint64_t>(generation) << 32 | kLive | 2, std::memory_order_release);
  return reinterpret_cast<oaio_call*>(static_cast<std::uintptr_t>(static_cast<std::uint64_t>(generation) << 32 | (index + 1)));
}

// The one CAS loop behind get() and take(): while the slot is live with the handle's
// generation, add a pin (get) or end the live state, whose pin the caller inherits (take).
CallRef CallTable::pin(const oaio_call* handle, bool take_live) {
  std::uint32_t index, generation;
  Slot* s = find(handle, &index, &generation);
  if (!s) return CallRef();
  std::uint64_t w = s->word.load(std::memory_order_acquire);
  if (!take_live && handle == t_handed_off && this == t_handed_off_table) {
    // This thread's HandOff pins the slot, so the handle's generation cannot change
    // under us: if it is still live, borrow that pin.
    if (generation_of(w) != generation || !(w & kLive)) return CallRef();
    return CallRef(this, index, /*borrowed=*/true);
  }
  do {
    if (generation_of(w) != generation || !(w & kLive)) return CallRef();
  } while (!s->word.compare_exchange_weak(w, take_live ? (w & ~kLive) : (w + 1), std::memory_order_acq_rel,
                                          std::memory_order_acquire));
  return CallRef(this, index);
}

CallRef CallTable::get(const oaio_call* handle) { return pin(handle, false); }

CallRef CallTable::take(const oaio_call* handle) { return pin(handle, true); }

bool CallTable::live(const oaio_call* handle) const {
  std::uint32_t index, generation;
  const Slot* s = find(handle, &index, &generation);
  if (!s) return false;
  const std::uint64_t w = s->word.load(std::memory_order_acquire);
  return generation_of(w) == generation && (w & kLive) != 0;
}

std::vector<oaio_call*> CallTable::live_handles(const BridgeHost* bridge) {
  std::vector<oaio_call*> out;
  std::uint32_t n = size_.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint64_t w = slot(i).word.load(std::memory_order_acquire);
    if (!(w & kLive)) continue;
    auto* handle = reinterpret_cast<oaio_call*>(static_cast<std::uintptr_t>((w & ~0xffffffffull) | (i + 1)));
    if (CallRef ref = get(handle); ref && ref->bridge == bridge) out.push_back(handle);
  }
  return out;
}

void CallTable::unpin(std::uint32_t index) {
  Slot& s = slot(index);
  std::uint64_t before = s.word.fetch_sub(1, std::memory_order_acq_rel);
  if ((before & kPinMask) != 1) return;
  // Last pin (so no longer live): blank the call, advance the generation so every
  // handle to it goes stale, and return the slot to the free list.
  s.pc.reset();
  s.word.store(static_cast<std::uint64_t>(generation_of(before) + 1) << 32, std::memory_order_release);
  push_free(index);
}

bool CallTable::pop_free(std::uint32_t* index) {
  std::uint64_t head = free_head_.load(std::memory_order_acquire);
  while (true) {
    std::uint32_t top = static_cast<std::uint32_t>(head);
    if (top == 0) return grow(index);
    std::uint32_t next = slot(top - 1).next_free.load(std::memory_order_relaxed);
    std::uint64_t tag = (head >> 32) + 1;
    if (free_head_.compare_exchange_weak(head, tag << 32 | next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      *index = top - 1;
      return true;
    }
  }
}

void CallTable::push_free(std::uint32_t index) {
  Slot& s = slot(index);
  std::uint64_t head = free_head_.load(std::memory_order_relaxed);
  while (true) {
    s.next_free.store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
    std::uint64_t tag = (head >> 32) + 1;
    if (free_head_.compare_exchange_weak(head, tag << 32 | (index + 1), std::memory_order_release,
                                         std::memory_order_relaxed))
      return;
  }
}

// Adds a chunk; keeps its first slot for the caller and frees the rest.
bool CallTable::grow(std::uint32_t* index) {
  std::lock_guard lock(grow_mu_);
  std::uint32_t n = size_.load(std::memory_order_relaxed);
  std::uint32_t chunk = n >> kChunkBits;
  if (chunk >= kMaxChunks) return false;
  chunks_[chunk].store(new Slot[kChunkSize], std::memory_order_release);
  size_.store(n + kChunkSize, std::memory_order_release);
  for (std::uint32_t i = kChunkSize - 1; i > 0; --i) push_free(n + i);
  *index = n;
  return true;
}

CallTable& call_table() {
  static CallTable* table = new CallTable();  // never destroyed: plugins may call late at exit
  return *table;
}

}  // namespace oaio::host
