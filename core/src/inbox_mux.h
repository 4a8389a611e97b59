// InboxMux: the reply inboxes of one connection behind a single wildcard subscription.
//
// Every Invoke and StreamInvoke listens on a fresh inbox. Subscribing each one on the
// server costs a SUB and an UNSUB on the wire per call, and the server updates its
// interest graph twice; request/reply in nats.c and nats.go avoids that the same way:
// one subscription to "<prefix>*" for the connection, and a local table from the last
// token to the call's handler. The transport owns the wildcard subscription and feeds
// every message it receives to deliver().
//
// Inboxes are "<prefix><n>" with n a decimal counter; owns() recognises exactly those,
// so other subjects under the prefix (a stream's "<inbox>.cancel") stay ordinary
// subscriptions.
//
// Thread-safety: all methods are thread-safe. Handlers run on the delivering thread,
// outside the table's lock, so they may add and remove inboxes (their own included).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "oaio/transport.h"

namespace oaio::detail {

class InboxMux : public std::enable_shared_from_this<InboxMux> {
 public:
  // `prefix` ends with '.', e.g. "_INBOX.<unique>.".
  explicit InboxMux(std::string prefix) : prefix_(std::move(prefix)) {}

  // The wildcard subject the transport subscribes to: "<prefix>*".
  std::string wildcard() const { return prefix_ + "*"; }
  std::string new_inbox();
  // True for the inboxes new_inbox() hands out.
  bool owns(std::string_view subject) const;
  // REQUIRES: owns(subject). Unsubscribing (or destroying) the result removes it.
  std::unique_ptr<TransportSubscription> add(std::string_view subject, MessageHandler handler);
  // Hands `msg` to the handler of its inbox; returns false when no handler has it
  // (a late reply after the call ended, or a subject not ours).
  bool deliver(const TransportMessage& msg);

 private:
  struct Entry {
    MessageHandler handler;
    std::atomic<bool> active{true};
  };
  class Subscription;

  std::optional<std::uint64_t> number_of(std::string_view subject) const;
  void remove(std::uint64_t n, const Entry* entry);

  const std::string prefix_;
  std::atomic<std::uint64_t> next_{1};
  std::mutex mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Entry>> entries_;  // guarded by mu_
};

}  // namespace oaio::detail
