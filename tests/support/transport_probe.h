// Test helpers that record what a Transport delivers. Handlers may run after the
// subscription is gone (transport.h), so tests hold these by shared_ptr and handlers
// capture a copy of it.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "oaio/transport.h"

namespace oaio::test {

struct ReceivedMessage {
  std::string subject, reply, data;
  int status = 0;
};

// Collects delivered messages; render() shows them one per line as
// "subject|reply|data|status" for whole-state comparisons.
class MessageLog : public std::enable_shared_from_this<MessageLog> {
 public:
  static std::shared_ptr<MessageLog> make() { return std::make_shared<MessageLog>(); }

  MessageHandler handler() {
    return [self = shared_from_this()](const TransportMessage& m) { self->add(m); };
  }
  void add(const TransportMessage& m) {
    std::lock_guard lock(mu_);
    messages_.push_back({std::string(m.subject), std::string(m.reply), std::string(m.data), m.status});
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return messages_.size();
  }
  std::vector<ReceivedMessage> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::string render() const {
    std::string out;
    for (const auto& m : messages()) {
      out += m.subject + "|" + m.reply + "|" + m.data + "|" + std::to_string(m.status) + "\n";
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<ReceivedMessage> messages_;  // guarded by mu_
};

// Records connection events in order.
class EventLog : public std::enable_shared_from_this<EventLog> {
 public:
  static std::shared_ptr<EventLog> make() { return std::make_shared<EventLog>(); }

  ConnectionListener listener() {
    return [self = shared_from_this()](ConnectionEvent e) {
      std::lock_guard lock(self->mu_);
      self->events_.push_back(e);
    };
  }
  int count(ConnectionEvent e) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (auto x : events_) n += (x == e);
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<ConnectionEvent> events_;  // guarded by mu_
};

}  // namespace oaio::test
