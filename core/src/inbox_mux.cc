#include "inbox_mux.h"

#include <charconv>

namespace oaio::detail {

class InboxMux::Subscription final : public TransportSubscription {
 public:
  Subscription(std::weak_ptr<InboxMux> mux, std::uint64_t n, std::shared_ptr<Entry> entry)
      : mux_(std::move(mux)), n_(n), entry_(std::move(entry)) {}
  ~Subscription() override { unsubscribe(); }
  void unsubscribe() override {
    if (!entry_->active.exchange(false)) return;
    if (auto mux = mux_.lock()) mux->remove(n_, entry_.get());
  }

 private:
  std::weak_ptr<InboxMux> mux_;
  std::uint64_t n_;
  std::shared_ptr<Entry> entry_;
};

std::string InboxMux::new_inbox() { return prefix_ + std::to_string(next_.fetch_add(1, std::memory_order_relaxed)); }

std::optional<std::uint64_t> InboxMux::number_of(std::string_view subject) const {
  if (subject.size() <= prefix_.size() || subject.substr(0, prefix_.size()) != prefix_) return std::nullopt;
  std::string_view digits = subject.substr(prefix_.size());
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.front() == '0') return std::nullopt;
  return n;
}

bool InboxMux::owns(std::string_view subject) const { return number_of(subject).has_value(); }

std::unique_ptr<TransportSubscription> InboxMux::add(std::string_view subject, MessageHandler handler) {
  const std::uint64_t n = number_of(subject).value();
  auto entry = std::make_shared<Entry>();
  entry->handler = std::move(handler);
  {
    std::lock_guard lock(mu_);
    entries_[n] = entry;
  }
  return std::make_unique<Subscription>(weak_from_this(), n, std::move(entry));
}

void InboxMux::remove(std::uint64_t n, const Entry* entry) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(n);
  if (it != entries_.end() && it->second.get() == entry) entries_.erase(it);
}

bool InboxMux::deliver(const TransportMessage& msg) {
  auto n = number_of(msg.subject);
  if (!n) return false;
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(*n);
    if (it == entries_.end()) return false;
    entry = it->second;
  }
  if (!entry->active.load(std::memory_order_acquire)) return false;
  entry->handler(msg);
  return true;
}

}  // namespace oaio::detail
