// The in-process transport. Subscriptions live in two indexes: exact subjects in a
// hash map (the common case: invoke subjects and inboxes) and wildcard patterns in a
// list. publish() collects the matching subscriptions under a shared lock and calls
// them after releasing it, so handlers may publish and (un)subscribe freely.
// publish_envelope() hands the envelope itself to subscribers that take envelopes,
// the last of them owning it, and encodes it once for any that take bytes.
#include "oaio/inmem_transport.h"

#include <atomic>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "subject_match.h"

namespace oaio {
namespace {

// At least the size of the envelope's encoding: strings may grow sixfold by escaping
// (\u00xx); payload and metadata values are written as they are. Nearly every message
// is far below max_payload by this bound, so only a large one is encoded to measure.
std::size_t encoded_size_bound(const Envelope& e) {
  std::size_t strings = e.spec_version.size() + e.event_id.size() + e.event_type.size() + e.frame_type.size() +
                        e.occurred_at.size() + e.trace_id.size() + e.span_id.size() + e.traceparent.size() +
                        e.session_id.size() + e.conversation_id.size() + e.correlation_id.size() +
                        e.reply_to.size() + e.from.size() + e.to.size() + e.channel.size() + e.tenant_id.size() +
                        e.user_id.size();
  std::size_t raw = e.payload.size();
  for (const auto& [key, value] : e.metadata) {
    strings += key.size();
    raw += value.size() + 4;
  }
  return 512 + 6 * strings + raw;
}

struct Sub {
  std::string subject;
  std::string queue;
  MessageHandler handler;
  bool takes_envelopes = false;
  std::atomic<bool> active{true};
};
using SubPtr = std::shared_ptr<Sub>;

class InmemTransport;

class InmemSubscription final : public TransportSubscription {
 public:
  InmemSubscription(std::weak_ptr<InmemTransport> owner, SubPtr sub) : owner_(std::move(owner)), sub_(std::move(sub)) {}
  ~InmemSubscription() override { unsubscribe(); }
  void unsubscribe() override;

 private:
  std::weak_ptr<InmemTransport> owner_;
  SubPtr sub_;
};

class InmemTransport final : public Transport, public std::enable_shared_from_this<InmemTransport> {
 public:
  explicit InmemTransport(InmemOptions options) : options_(options) {}

  Status publish(std::string_view subject, std::string_view reply, std::string_view data) override {
    if (closed_.load(std::memory_order_acquire)) return Status::transport("in-process transport is closed");
    OAIO_RETURN_IF_ERROR(check_size(data.size()));
    std::vector<SubPtr> targets;
    collect(subject, &targets);
    TransportMessage msg{subject, reply, data, 0};
    for (auto& s : targets) {
      if (s->active.load(std::memory_order_acquire)) s->handler(msg);
    }
    if (targets.empty()) answer_no_responders(reply);
    return Status();
  }

  Status publish_envelope(std::string_view subject, std::string_view reply, Envelope&& envelope) override {
    if (!options_.carry_envelopes) return Transport::publish_envelope(subject, reply, std::move(envelope));
    if (closed_.load(std::memory_order_acquire)) return Status::transport("in-process transport is closed");
    // The bytes, made only when needed: to measure a message that may be too large, or
    // for a subscriber that takes bytes (before anyone may move the envelope away).
    std::string bytes;
    bool encoded = false;
    auto encode = [&]() -> Status {
      if (encoded) return Status();
      OAIO_RETURN_IF_ERROR(encode_envelope(envelope, &bytes));
      encoded = true;
      return Status();
    };
    if (options_.max_payload != 0 && encoded_size_bound(envelope) > options_.max_payload) {
      OAIO_RETURN_IF_ERROR(encode());
      OAIO_RETURN_IF_ERROR(check_size(bytes.size()));
    }
    std::vector<SubPtr> targets;
    collect(subject, &targets);
    std::size_t owner = targets.size();  // the last envelope taker may move from it
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (targets[i]->takes_envelopes) {
        owner = i;
      } else {
        OAIO_RETURN_IF_ERROR(encode());
      }
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const Sub& s = *targets[i];
      if (!s.active.load(std::memory_order_acquire)) continue;
      TransportMessage msg{subject, reply, {}, 0};
      if (s.takes_envelopes) {
        msg.envelope = &envelope;
        msg.envelope_owned = i == owner;
      } else {
        msg.data = bytes;
      }
      s.handler(msg);
    }
    if (targets.empty()) answer_no_responders(reply);
    return Status();
  }

  Result<std::unique_ptr<TransportSubscription>> subscribe(std::string_view subject, std::string_view queue,
                                                           MessageHandler handler) override {
    return add_subscription(subject, queue, std::move(handler), /*takes_envelopes=*/false);
  }

  Result<std::unique_ptr<TransportSubscription>> subscribe_envelopes(std::string_view subject,
                                                                     std::string_view queue,
                                                                     MessageHandler handler) override {
    return add_subscription(subject, queue, std::move(handler), options_.carry_envelopes);
  }

  std::string new_inbox() override {
    return "_INBOX." + std::to_string(inbox_seq_.fetch_add(1, std::memory_order_relaxed)) + "_" + instance_token_;
  }

  Status flush(std::chrono::milliseconds) override {
    return closed_.load() ? Status::transport("in-process transport is closed") : Status();
  }

  TransportCapabilities capabilities() const override {
    return {true, options_.max_payload, /*in_process=*/true, options_.carry_envelopes};
  }
  bool connected() const override { return !closed_.load(std::memory_order_acquire); }

  int add_connection_listener(ConnectionListener listener) override {
    std::lock_guard lock(listeners_mu_);
    listeners_.emplace(++listener_seq_, std::move(listener));
    return listener_seq_;
  }
  void remove_connection_listener(int id) override {
    std::lock_guard lock(listeners_mu_);
    listeners_.erase(id);
  }

  void close() override {
    if (closed_.exchange(true)) return;
    {
      std::unique_lock lock(mu_);
      for (auto& [_, subs] : exact_)
        for (auto& s : subs) s->active = false;
      for (auto& s : wildcard_) s->active = false;
      exact_.clear();
      wildcard_.clear();
    }
    std::unordered_map<int, ConnectionListener> listeners;
    {
      std::lock_guard lock(listeners_mu_);
      listeners = listeners_;
    }
    for (auto& [_, l] : listeners) l(ConnectionEvent::kClosed);
  }

  void remove(const SubPtr& sub) {
    sub->active.store(false, std::memory_order_release);
    std::unique_lock lock(mu_);
    auto erase_from = [&](std::vector<SubPtr>& v) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (*it == sub) {
          v.erase(it);
          return;
        }
      }
    };
    auto it = exact_.find(sub->subject);
    if (it != exact_.end()) {
      erase_from(it->second);
      if (it->second.empty()) exact_.erase(it);
    }
    erase_from(wildcard_);
  }

 private:
  Result<std::unique_ptr<TransportSubscription>> add_subscription(std::string_view subject, std::string_view queue,
                                                                  MessageHandler handler, bool takes_envelopes) {
    if (closed_.load(std::memory_order_acquire)) return Status::transport("in-process transport is closed");
    auto sub = std::make_shared<Sub>();
    sub->subject = std::string(subject);
    sub->queue = std::string(queue);
    sub->handler = std::move(handler);
    sub->takes_envelopes = takes_envelopes;
    {
      std::unique_lock lock(mu_);
      if (detail::subject_has_wildcard(subject)) {
        wildcard_.push_back(sub);
      } else {
        exact_[sub->subject].push_back(sub);
      }
    }
    return std::unique_ptr<TransportSubscription>(
        std::make_unique<InmemSubscription>(weak_from_this(), std::move(sub)));
  }

  Status check_size(std::size_t size) const {
    if (options_.max_payload != 0 && size > options_.max_payload) {
      return Status::invalid("message of " + std::to_string(size) + " bytes exceeds the max_payload of " +
                             std::to_string(options_.max_payload) + " bytes");
    }
    return Status();
  }

  // Like a NATS server with no_responders: tell the requester nobody listens.
  void answer_no_responders(std::string_view reply) {
    if (reply.empty()) return;
    std::vector<SubPtr> inbox;
    collect(reply, &inbox);
    TransportMessage status{reply, {}, {}, 503};
    for (auto& s : inbox) {
      if (s->active.load(std::memory_order_acquire)) s->handler(status);
    }
  }

  // Appends the subscriptions that should receive a message on `subject`: every plain
  // subscriber, and one random member of each queue group.
  void collect(std::string_view subject, std::vector<SubPtr>* out) {
    std::shared_lock lock(mu_);
    std::vector<std::pair<std::string_view, std::vector<SubPtr>>> groups;
    auto consider = [&](const SubPtr& s) {
      if (s->queue.empty()) {
        out->push_back(s);
        return;
      }
      for (auto& g : groups) {
        if (g.first == s->queue) {
          g.second.push_back(s);
          return;
        }
      }
      groups.push_back({s->queue, {s}});
    };
    if (auto it = exact_.find(std::string(subject)); it != exact_.end()) {
      for (auto& s : it->second) consider(s);
    }
    for (auto& s : wildcard_) {
      if (detail::subject_matches(s->subject, subject)) consider(s);
    }
    for (auto& g : groups) {
      if (g.second.size() == 1) {
        out->push_back(g.second.front());
      } else {
        thread_local std::minstd_rand rng{std::random_device{}()};
        out->push_back(g.second[rng() % g.second.size()]);
      }
    }
  }

  const InmemOptions options_;
  std::atomic<bool> closed_{false};
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::vector<SubPtr>> exact_;  // guarded by mu_
  std::vector<SubPtr> wildcard_;                                // guarded by mu_
  std::atomic<std::uint64_t> inbox_seq_{1};
  const std::string instance_token_ = std::to_string(std::random_device{}());
  std::mutex listeners_mu_;
  std::unordered_map<int, ConnectionListener> listeners_;  // guarded by listeners_mu_
  int listener_seq_ = 0;                                   // guarded by listeners_mu_
};

void InmemSubscription::unsubscribe() {
  if (!sub_) return;
  if (auto owner = owner_.lock()) {
    owner->remove(sub_);
  } else {
    sub_->active = false;
  }
  sub_.reset();
}

}  // namespace

std::shared_ptr<Transport> make_inmem_transport(InmemOptions options) {
  return std::make_shared<InmemTransport>(options);
}

}  // namespace oaio
