// The NATS transport on nats.c 3.4 (the only file that includes <nats/nats.h>).
//
// Choices that are not obvious from the API:
// - Publishes fail fast while the connection is down. nats.c would otherwise buffer
//   them (8 MB by default) during a reconnect and report success, so a request made
//   in an outage would only time out. publish() checks the status first, and the
//   reconnect buffer is set to its minimum so that a publish racing with a disconnect
//   can park at most one message (nats.c reads 0 as "use the default").
// - Subscriptions share nats.c's global delivery pool (kDeliveryThreads threads)
//   instead of a thread each: a thread start and stop per short-lived subscription
//   (a stream's cancel listener) cost about 300 us on loopback. Order within a
//   subscription is kept; our handlers only hand work to the bus executor, so one
//   subscription cannot hold a pool worker for long.
// - With shared_reply_inbox, reply inboxes share one wildcard subscription per
//   connection (inbox_mux.h): a call costs one PUB on the wire, not SUB + PUB + UNSUB.
// - Pending limits per subscription are raised from 64 Ki messages to 1 Mi messages
//   / 1 GiB so that bursts are not dropped; drops that still happen are logged.
// - A handler's context is freed by nats.c's completion callback, which runs after the
//   last handler call has returned, so unsubscribing from inside the handler and
//   destroying the transport while messages are in flight are both safe.
#include "oaio/nats_transport.h"

#include <mutex>

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "inbox_mux.h"
#include "listener_set.h"
#include "nkey.h"
#include "oaio/log.h"

namespace oaio {
namespace {

constexpr int kDeliveryThreads = 4;  // process-wide nats.c message delivery pool


constexpr int kMaxPendingMsgs = 1 << 20;
constexpr int kMaxPendingBytes = 1 << 30;
constexpr int kReconnectBufBytes = 1;  // see the file comment: publishes never wait for a reconnect

Logger& logger() {
  static const std::shared_ptr<Logger> instance = make_stderr_logger(LogLevel::kWarn);
  return *instance;
}

// nats.c's text for `s`, plus the thread's detailed last error when it is about `s`.
std::string nats_error_text(natsStatus s) {
  std::string text = natsStatus_GetText(s);
  natsStatus last_status = NATS_OK;
  const char* last_c = nats_GetLastError(&last_status);
  if (last_c == nullptr || last_status != s) return text;
  std::string_view last = last_c;
  // nats.c prefixes its detail with the source location: "(conn.c:1905): ...".
  if (auto pos = last.find("): "); !last.empty() && last.front() == '(' && pos != std::string_view::npos) {
    last.remove_prefix(pos + 3);
  }
  if (!last.empty() && last != text) {
    text += " (";
    text += last;
    text += ")";
  }
  return text;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += ',';
    out += p;
  }
  return out;
}

struct OptionsDeleter {
  void operator()(natsOptions* opts) const { natsOptions_Destroy(opts); }
};
using OptionsPtr = std::unique_ptr<natsOptions, OptionsDeleter>;

struct MsgDeleter {
  void operator()(natsMsg* msg) const { natsMsg_Destroy(msg); }
};
using MsgPtr = std::unique_ptr<natsMsg, MsgDeleter>;

// ---- nats.c callbacks --------------------------------------------------------------

// What the connection callbacks share with the transport. nats.c runs connection
// callbacks on its own thread and may run the closed callback after the transport is
// gone, so the callbacks hold a reference of their own (a heap shared_ptr passed as
// closure), released by the closed callback: the last connection callback nats.c makes.
struct ConnState {
  detail::ListenerSet listeners;
  std::string nkey_seed;  // immutable after connect; read by the signature callback
};
using ConnStateRef = std::shared_ptr<ConnState>;

ConnState& state_of(void* closure) { return **static_cast<ConnStateRef*>(closure); }

void on_disconnected(natsConnection*, void* closure) {
  state_of(closure).listeners.dispatch(ConnectionEvent::kDisconnected);
}

// Also the "connected at last" callback of retry_on_failed_connect: either way the
// transport can send again.
void on_reconnected(natsConnection*, void* closure) {
  state_of(closure).listeners.dispatch(ConnectionEvent::kReconnected);
}

void on_closed(natsConnection*, void* closure) {
  auto* ref = static_cast<ConnStateRef*>(closure);
  (*ref)->listeners.dispatch(ConnectionEvent::kClosed);
  delete ref;
}

// Slow-consumer and other asynchronous errors. No closure: unlike connection events,
// nats.c could report one of these after the closed callback.
std::atomic<std::uint64_t> g_slow_consumer_events{0};

void on_async_error(natsConnection*, natsSubscription* sub, natsStatus err, void*) {
  if (err == NATS_SLOW_CONSUMER) {
    const auto n = g_slow_consumer_events.fetch_add(1) + 1;
    int64_t dropped = 0;
    const char* subject = sub != nullptr ? natsSubscription_GetSubject(sub) : nullptr;
    if (sub != nullptr) natsSubscription_GetDropped(sub, &dropped);
    logger().log(LogLevel::kWarn,
                 fmt::format("nats: slow consumer on '{}': the handler falls behind and messages were dropped "
                             "({} dropped on this subscription, slow-consumer event #{})",
                             subject != nullptr ? subject : "?", dropped, n));
    return;
  }
  logger().log(LogLevel::kWarn, fmt::format("nats: asynchronous error: {}", natsStatus_GetText(err)));
}

// Signs the server's nonce with the configured NKey seed (closure: the ConnState).
natsStatus on_sign(char** custom_err, unsigned char** signature, int* signature_len, const char* nonce,
                   void* closure) {
  const auto* state = static_cast<const ConnState*>(closure);
  natsStatus s = nats_Sign(state->nkey_seed.c_str(), nonce, signature, signature_len);
  if (s != NATS_OK && custom_err != nullptr) *custom_err = strdup("cannot sign the server nonce with nkey_seed");
  return s;
}

// ---- subscriptions ----------------------------------------------------------------

struct SubContext {
  MessageHandler handler;
};

// A header-only message: nats.c keeps the status line in the "Status" header.
int status_of(natsMsg* msg) {
  if (natsMsg_IsNoResponders(msg)) return 503;
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, "Status", &value) != NATS_OK || value == nullptr) return 0;
  return std::atoi(value);
}

// The transport's view of a nats.c message (valid while `raw` lives).
TransportMessage view_of(natsMsg* raw) {
  TransportMessage m;
  m.subject = natsMsg_GetSubject(raw);
  if (const char* reply = natsMsg_GetReply(raw); reply != nullptr) m.reply = reply;
  const int len = natsMsg_GetDataLength(raw);
  if (len > 0) {
    m.data = std::string_view(natsMsg_GetData(raw), static_cast<std::size_t>(len));
  } else {
    m.status = status_of(raw);
  }
  return m;
}

// A failed nats.c subscribe as a Status: a bad subject is the caller's error.
Status subscribe_failed(std::string_view subject, natsStatus s) {
  const std::string text = fmt::format("nats subscribe {}: {}", subject, nats_error_text(s));
  if (s == NATS_INVALID_SUBJECT || s == NATS_INVALID_ARG) return Status::invalid(text);
  return Status::transport(text);
}

void on_message(natsConnection*, natsSubscription*, natsMsg* raw, void* closure) {
  MsgPtr msg(raw);
  auto* ctx = static_cast<SubContext*>(closure);
  const TransportMessage m = view_of(raw);
  // The handler runs on a nats.c thread: an exception must not unwind into C.
  try {
    ctx->handler(m);
  } catch (const std::exception& e) {
    logger().log(LogLevel::kError, fmt::format("nats: message handler for '{}' threw: {}", m.subject, e.what()));
  } catch (...) {
    logger().log(LogLevel::kError, fmt::format("nats: message handler for '{}' threw", m.subject));
  }
}

// Runs once, after the subscription is closed and its last handler call returned.
void on_sub_complete(void* closure) { delete static_cast<SubContext*>(closure); }

class NatsSubscription final : public TransportSubscription {
 public:
  explicit NatsSubscription(natsSubscription* sub) : sub_(sub) {}
  ~NatsSubscription() override {
    unsubscribe();
    natsSubscription_Destroy(sub_);  // the delivery thread keeps its own reference
  }
  NatsSubscription(const NatsSubscription&) = delete;
  NatsSubscription& operator=(const NatsSubscription&) = delete;

  void unsubscribe() override {
    if (done_.exchange(true)) return;
    // Fails only when the subscription or connection is closed already: nothing to undo.
    natsSubscription_Unsubscribe(sub_);
  }

 private:
  natsSubscription* sub_;
  std::atomic<bool> done_{false};
};

// A synchronous nats.c subscription: the reader thread queues each message on the
// subscription and signals the thread waiting in natsSubscription_NextMsg directly.
class NatsPullSubscription final : public PullSubscription {
 public:
  explicit NatsPullSubscription(natsSubscription* sub) : sub_(sub) {}
  ~NatsPullSubscription() override {
    interrupt();
    natsSubscription_Destroy(sub_);
  }
  NatsPullSubscription(const NatsPullSubscription&) = delete;
  NatsPullSubscription& operator=(const NatsPullSubscription&) = delete;

  Wait next(std::chrono::milliseconds timeout, TransportMessage* out) override {
    msg_.reset();
    if (interrupted_.load(std::memory_order_acquire)) return Wait::kClosed;
    natsMsg* raw = nullptr;
    // nats.c has no "forever": a negative timeout waits a day at a time.
    const int64_t ms = timeout.count() < 0 ? int64_t{86'400'000} : std::max<int64_t>(timeout.count(), 0);
    natsStatus s = natsSubscription_NextMsg(&raw, sub_, ms);
    while (s == NATS_TIMEOUT && timeout.count() < 0 && !interrupted_.load(std::memory_order_acquire)) {
      s = natsSubscription_NextMsg(&raw, sub_, ms);
    }
    if (s == NATS_TIMEOUT) return Wait::kTimeout;
    *out = TransportMessage{};
    if (s == NATS_NO_RESPONDERS) {
      // nats.c reports [E1]'s 503 status message as this status, without the message.
      out->subject = natsSubscription_GetSubject(sub_);
      out->status = 503;
      return Wait::kMessage;
    }
    if (s != NATS_OK) return Wait::kClosed;  // unsubscribed (interrupt) or connection closed
    msg_.reset(raw);
    *out = view_of(raw);
    return Wait::kMessage;
  }

  void interrupt() override {
    if (interrupted_.exchange(true, std::memory_order_acq_rel)) return;
    // Wakes a thread in NextMsg, which then returns NATS_INVALID_SUBSCRIPTION. Fails only
    // when the subscription or connection is closed already: nothing to undo.
    natsSubscription_Unsubscribe(sub_);
  }

 private:
  natsSubscription* sub_;
  MsgPtr msg_;  // the message *out views; only the pulling thread touches it
  std::atomic<bool> interrupted_{false};
};

// ---- the transport ----------------------------------------------------------------

// "_INBOX.<nuid>.": this connection's reply inboxes, unique across connections.
std::string unique_inbox_prefix() {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) {
    // Only fails when out of memory; there is no sensible inbox to return.
    logger().log(LogLevel::kError, "nats: cannot create an inbox (out of memory)");
    std::abort();
  }
  std::string out(inbox);
  natsInbox_Destroy(inbox);
  return out + ".";
}

class NatsTransport final : public Transport {
 public:
  NatsTransport(natsConnection* nc, ConnStateRef state, bool no_responders, bool shared_reply_inbox)
      : nc_(nc),
        state_(std::move(state)),
        no_responders_(no_responders),
        inboxes_(shared_reply_inbox ? std::make_shared<detail::InboxMux>(unique_inbox_prefix()) : nullptr) {}

  ~NatsTransport() override {
    state_->listeners.detach();  // the owner is going away: no listener call after this
    natsConnection_Close(nc_);   // joins the reconnect thread; subscriptions stop
    natsConnection_Destroy(nc_);
  }
  NatsTransport(const NatsTransport&) = delete;
  NatsTransport& operator=(const NatsTransport&) = delete;

  Status publish(std::string_view subject, std::string_view reply, std::string_view data) override {
    const int64_t max_payload = natsConnection_GetMaxPayload(nc_);
    if (max_payload > 0 && data.size() > static_cast<std::size_t>(max_payload)) {
      return Status::invalid(fmt::format("nats publish {}: message of {} bytes exceeds the server's max_payload of {} bytes",
                                         subject, data.size(), max_payload));
    }
    if (data.size() > static_cast<std::size_t>(INT_MAX)) {
      return Status::invalid(fmt::format("nats publish {}: message of {} bytes is too large", subject, data.size()));
    }
    OAIO_RETURN_IF_ERROR(check_connected("publish", subject));
    const std::string subj(subject);
    natsStatus s;
    if (reply.empty()) {
      s = natsConnection_Publish(nc_, subj.c_str(), data.data(), static_cast<int>(data.size()));
    } else {
      const std::string rep(reply);
      s = natsConnection_PublishRequest(nc_, subj.c_str(), rep.c_str(), data.data(), static_cast<int>(data.size()));
    }
    if (s == NATS_OK) return Status();
    const std::string text = fmt::format("nats publish {}: {}", subject, nats_error_text(s));
    if (s == NATS_MAX_PAYLOAD || s == NATS_INVALID_SUBJECT || s == NATS_INVALID_ARG) return Status::invalid(text);
    return Status::transport(text);
  }

  Result<std::unique_ptr<TransportSubscription>> subscribe(std::string_view subject, std::string_view queue,
                                                           MessageHandler handler) override {
    if (inboxes_ && queue.empty() && inboxes_->owns(subject)) {
      OAIO_RETURN_IF_ERROR(ensure_inbox_subscription());
      return inboxes_->add(subject, std::move(handler));
    }
    return subscribe_on_server(subject, queue, std::move(handler));
  }

  // Reply inboxes behind the shared inbox subscription are not pulled: that
  // subscription has one delivery thread for all of them.
  Result<std::unique_ptr<PullSubscription>> subscribe_pull(std::string_view subject) override {
    if (inboxes_ && inboxes_->owns(subject)) return std::unique_ptr<PullSubscription>();
    const std::string subj(subject);
    natsSubscription* raw = nullptr;
    const natsStatus s = natsConnection_SubscribeSync(&raw, nc_, subj.c_str());
    if (s != NATS_OK) return subscribe_failed(subject, s);
    natsSubscription_SetPendingLimits(raw, kMaxPendingMsgs, kMaxPendingBytes);
    return std::unique_ptr<PullSubscription>(std::make_unique<NatsPullSubscription>(raw));
  }

  std::string new_inbox() override {
    if (inboxes_) return inboxes_->new_inbox();
    std::string prefix = unique_inbox_prefix();
    prefix.pop_back();  // "_INBOX.<nuid>": one token, subscribed exactly
    return prefix;
  }

  Status flush(std::chrono::milliseconds timeout) override {
    OAIO_RETURN_IF_ERROR(check_connected("flush", {}));
    const natsStatus s = natsConnection_FlushTimeout(nc_, std::max<int64_t>(1, timeout.count()));
    if (s == NATS_OK) return Status();
    return Status::transport(fmt::format("nats flush: {}", nats_error_text(s)));
  }

  TransportCapabilities capabilities() const override {
    TransportCapabilities caps;
    caps.no_responders = no_responders_ && natsConnection_HasHeaderSupport(nc_) == NATS_OK;
    const int64_t max_payload = natsConnection_GetMaxPayload(nc_);
    caps.max_payload = max_payload > 0 ? static_cast<std::size_t>(max_payload) : 0;
    return caps;
  }

  bool connected() const override { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

  int add_connection_listener(ConnectionListener listener) override { return state_->listeners.add(std::move(listener)); }
  void remove_connection_listener(int id) override { state_->listeners.remove(id); }

  void close() override { natsConnection_Close(nc_); }  // idempotent in nats.c

 private:
  Result<std::unique_ptr<TransportSubscription>> subscribe_on_server(std::string_view subject, std::string_view queue,
                                                                     MessageHandler handler) {
    auto ctx = std::make_unique<SubContext>(SubContext{std::move(handler)});
    const std::string subj(subject);
    natsSubscription* raw = nullptr;
    natsStatus s;
    if (queue.empty()) {
      s = natsConnection_Subscribe(&raw, nc_, subj.c_str(), on_message, ctx.get());
    } else {
      const std::string group(queue);
      s = natsConnection_QueueSubscribe(&raw, nc_, subj.c_str(), group.c_str(), on_message, ctx.get());
    }
    if (s != NATS_OK) return subscribe_failed(subject, s);
    auto sub = std::make_unique<NatsSubscription>(raw);
    if (natsSubscription_SetOnCompleteCB(raw, on_sub_complete, ctx.get()) != NATS_OK) {
      // The connection closed in between. A handler call may still be running on the
      // delivery thread and nothing will tell us when it ends, so the context is
      // deliberately leaked (a rare, small leak beats a use-after-free).
      (void)ctx.release();
      return Status::transport(fmt::format("nats subscribe {}: connection closed", subject));
    }
    (void)ctx.release();  // owned by on_sub_complete now
    natsSubscription_SetPendingLimits(raw, kMaxPendingMsgs, kMaxPendingBytes);
    return std::unique_ptr<TransportSubscription>(std::move(sub));
  }

  // The one server subscription behind every reply inbox (see inbox_mux.h), made on
  // first use; nats.c renews it after a reconnect.
  Status ensure_inbox_subscription() {
    std::lock_guard lock(inbox_sub_mu_);
    if (inbox_sub_) return Status();
    std::weak_ptr<detail::InboxMux> weak = inboxes_;
    auto sub = subscribe_on_server(inboxes_->wildcard(), {}, [weak](const TransportMessage& m) {
      if (auto mux = weak.lock()) mux->deliver(m);
    });
    if (!sub.ok()) return sub.status();
    inbox_sub_ = std::move(sub).value();
    return Status();
  }

  Status check_connected(std::string_view op, std::string_view subject) const {
    const natsConnStatus st = natsConnection_Status(nc_);
    if (st == NATS_CONN_STATUS_CONNECTED) return Status();
    const std::string what = subject.empty() ? fmt::format("nats {}", op) : fmt::format("nats {} {}", op, subject);
    switch (st) {
      case NATS_CONN_STATUS_CLOSED:
        return Status::transport(what + ": connection closed");
      case NATS_CONN_STATUS_RECONNECTING:
        return Status::transport(what + ": not connected to a server (reconnecting)");
      case NATS_CONN_STATUS_CONNECTING:
        return Status::transport(what + ": not connected to a server yet (connecting)");
      default:
        return Status::transport(what + ": not connected to a server");
    }
  }

  natsConnection* const nc_;
  const ConnStateRef state_;
  const bool no_responders_;
  const std::shared_ptr<detail::InboxMux> inboxes_;  // null unless shared_reply_inbox
  std::mutex inbox_sub_mu_;
  std::unique_ptr<TransportSubscription> inbox_sub_;  // guarded by inbox_sub_mu_
};

// ---- connect ------------------------------------------------------------------------

Status check_option(natsStatus s, std::string_view what) {
  if (s == NATS_OK) return Status();
  return Status::invalid(fmt::format("nats option {}: {}", what, nats_error_text(s)));
}

Status check_readable(const std::string& path, std::string_view what) {
  if (path.empty() || ::access(path.c_str(), R_OK) == 0) return Status();
  return Status::invalid(fmt::format("nats option {}: cannot read '{}'", what, path));
}

bool wants_tls(const NatsOptions& o) {
  if (o.tls.enabled || !o.tls.ca_file.empty() || !o.tls.cert_file.empty() || !o.tls.key_file.empty()) return true;
  for (const auto& url : o.servers) {
    if (url.rfind("tls://", 0) == 0) return true;
  }
  return false;
}

Status configure_tls(natsOptions* opts, const NatsOptions& o) {
  if (!wants_tls(o)) return Status();
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetSecure(opts, true), "tls"));
  OAIO_RETURN_IF_ERROR(check_readable(o.tls.ca_file, "tls.ca_file"));
  if (!o.tls.ca_file.empty()) {
    OAIO_RETURN_IF_ERROR(
        check_option(natsOptions_LoadCATrustedCertificates(opts, o.tls.ca_file.c_str()), "tls.ca_file"));
  }
  if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
    return Status::invalid("nats option tls: cert_file and key_file must be given together");
  }
  if (!o.tls.cert_file.empty()) {
    OAIO_RETURN_IF_ERROR(check_readable(o.tls.cert_file, "tls.cert_file"));
    OAIO_RETURN_IF_ERROR(check_readable(o.tls.key_file, "tls.key_file"));
    OAIO_RETURN_IF_ERROR(check_option(
        natsOptions_LoadCertificatesChain(opts, o.tls.cert_file.c_str(), o.tls.key_file.c_str()), "tls.cert_file"));
  }
  if (o.tls.skip_verify) {
    OAIO_RETURN_IF_ERROR(check_option(natsOptions_SkipServerVerification(opts, true), "tls.skip_verify"));
  }
  return Status();
}

Status configure_auth(natsOptions* opts, const NatsOptions& o, ConnState* state) {
  if (!o.nkey_seed.empty() && !o.credentials_file.empty()) {
    return Status::invalid("nats options nkey_seed and credentials_file are mutually exclusive");
  }
  if (!o.user.empty() || !o.password.empty()) {
    OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.c_str()), "user"));
  }
  if (!o.token.empty()) OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetToken(opts, o.token.c_str()), "token"));
  if (!o.nkey_seed.empty()) {
    auto pub = detail::nkey_public_from_seed(o.nkey_seed);
    if (!pub.ok()) return pub.status().with_prefix("nats option");
    state->nkey_seed = o.nkey_seed;
    OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetNKey(opts, pub->c_str(), on_sign, state), "nkey_seed"));
  }
  if (!o.credentials_file.empty()) {
    OAIO_RETURN_IF_ERROR(check_readable(o.credentials_file, "credentials_file"));
    OAIO_RETURN_IF_ERROR(check_option(
        natsOptions_SetUserCredentialsFromFiles(opts, o.credentials_file.c_str(), nullptr), "credentials_file"));
  }
  return Status();
}

// `events` is the closure of the connection callbacks (see ConnState).
Status configure(natsOptions* opts, const NatsOptions& o, ConnStateRef* events) {
  std::vector<const char*> urls;
  for (const auto& s : o.servers) urls.push_back(s.c_str());
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size())), "servers"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetNoRandomize(opts, true), "servers"));  // tried in order
  if (!o.name.empty()) OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetName(opts, o.name.c_str()), "name"));
  OAIO_RETURN_IF_ERROR(configure_auth(opts, o, events->get()));
  OAIO_RETURN_IF_ERROR(configure_tls(opts, o));

  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetAllowReconnect(opts, o.max_reconnect != 0), "max_reconnect"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetMaxReconnect(opts, o.max_reconnect), "max_reconnect"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetReconnectWait(opts, o.reconnect_wait.count()), "reconnect_wait"));
  OAIO_RETURN_IF_ERROR(check_option(
      natsOptions_SetReconnectJitter(opts, o.reconnect_jitter.count(), o.reconnect_jitter.count()), "reconnect_jitter"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetReconnectBufSize(opts, kReconnectBufBytes), "reconnect buffer"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetTimeout(opts, o.connect_timeout.count()), "connect_timeout"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetPingInterval(opts, o.ping_interval.count()), "ping_interval"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetMaxPingsOut(opts, o.max_pings_out), "max_pings_out"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetSendAsap(opts, o.send_asap), "send_asap"));
  // The shared delivery pool: see the note at the top of the file.
  static std::once_flag pool_once;
  std::call_once(pool_once, [] { nats_SetMessageDeliveryPoolSize(kDeliveryThreads); });
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_UseGlobalMessageDelivery(opts, true), "global message delivery"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_DisableNoResponders(opts, !o.no_responders), "no_responders"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetMaxPendingMsgs(opts, kMaxPendingMsgs), "max pending"));

  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetErrorHandler(opts, on_async_error, nullptr), "error handler"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetDisconnectedCB(opts, on_disconnected, events), "callbacks"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetReconnectedCB(opts, on_reconnected, events), "callbacks"));
  OAIO_RETURN_IF_ERROR(check_option(natsOptions_SetClosedCB(opts, on_closed, events), "callbacks"));
  OAIO_RETURN_IF_ERROR(check_option(
      natsOptions_SetRetryOnFailedConnect(opts, o.retry_on_failed_connect,
                                          o.retry_on_failed_connect ? on_reconnected : nullptr, events),
      "retry_on_failed_connect"));
  return Status();
}

}  // namespace

Result<std::shared_ptr<Transport>> connect_nats(const NatsOptions& options) {
  if (options.servers.empty()) return Status::invalid("nats connect: no server URL given");
  auto state = std::make_shared<ConnState>();
  // The callbacks' own reference; the closed callback deletes it once connected.
  auto events = std::make_unique<ConnStateRef>(state);

  natsOptions* raw_opts = nullptr;
  if (natsOptions_Create(&raw_opts) != NATS_OK) return Status::transport("nats connect: cannot create options");
  OptionsPtr opts(raw_opts);  // the connection clones it; ours goes when this returns
  OAIO_RETURN_IF_ERROR(configure(opts.get(), options, events.get()));

  natsConnection* nc = nullptr;
  const natsStatus s = natsConnection_Connect(&nc, opts.get());
  // NATS_NOT_YET_CONNECTED: retry_on_failed_connect keeps trying in the background.
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    return Status::transport(fmt::format("nats connect {}: {}", join(options.servers), nats_error_text(s)));
  }
  (void)events.release();  // a connection exists: its closed callback frees the reference
  return std::shared_ptr<Transport>(std::make_shared<NatsTransport>(nc, std::move(state), options.no_responders,
                                                                   options.shared_reply_inbox));
}

std::vector<std::string> split_server_list(std::string_view list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(start, end - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = end + 1;
  }
  return out;
}

}  // namespace oaio
