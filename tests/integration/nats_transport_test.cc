// The NATS transport against a real nats-server: delivery, queue groups, [E1] no
// responders, max_payload, outages and reconnects, and subscription lifetimes.
// Authentication and TLS are in nats_transport_auth_test.cc.
#include "oaio/nats_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "support/nats_server.h"
#include "support/test_util.h"
#include "support/transport_probe.h"

namespace oaio {
namespace {

using namespace std::chrono_literals;
using test::EventLog;
using test::MessageLog;
using test::NatsServer;
using test::wait_until;
using ::testing::HasSubstr;

NatsOptions options_for(const NatsServer& server) {
  NatsOptions o;
  o.servers = {server.url()};
  o.name = "oaio-test";
  o.reconnect_wait = 100ms;
  o.reconnect_jitter = 20ms;
  return o;
}

std::shared_ptr<Transport> connect_or_die(const NatsOptions& o) {
  auto t = connect_nats(o);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? *t : nullptr;
}

std::unique_ptr<TransportSubscription> subscribe_or_die(Transport& t, std::string_view subject, std::string_view queue,
                                                        MessageHandler handler) {
  auto sub = t.subscribe(subject, queue, std::move(handler));
  EXPECT_TRUE(sub.ok()) << sub.status().to_string();
  return sub.ok() ? std::move(*sub) : nullptr;
}

TEST(NatsTransportTest, PublishSubscribe) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->connected());
  auto log = MessageLog::make();
  auto sub = subscribe_or_die(*t, "oaio.test.ps", "", log->handler());
  ASSERT_TRUE(t->flush(2s).ok());

  ASSERT_TRUE(t->publish("oaio.test.ps", "", "hello").ok());
  ASSERT_TRUE(t->publish("oaio.test.other", "", "not for us").ok());
  ASSERT_TRUE(t->publish("oaio.test.ps", "", "").ok());
  ASSERT_TRUE(wait_until([&] { return log->size() == 2; }));
  ASSERT_TRUE(t->flush(2s).ok());
  EXPECT_EQ(log->render(), "oaio.test.ps||hello|0\noaio.test.ps|||0\n");
}

TEST(NatsTransportTest, QueueGroupDeliversEachMessageToOneMember) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto a_conn = connect_or_die(options_for(server));
  auto b_conn = connect_or_die(options_for(server));
  auto pub = connect_or_die(options_for(server));
  ASSERT_TRUE(a_conn && b_conn && pub);
  auto a = MessageLog::make(), b = MessageLog::make(), all = MessageLog::make();
  auto sub_a = subscribe_or_die(*a_conn, "oaio.q", "workers", a->handler());
  auto sub_b = subscribe_or_die(*b_conn, "oaio.q", "workers", b->handler());
  auto sub_all = subscribe_or_die(*a_conn, "oaio.q", "", all->handler());  // plain subscribers still see all
  ASSERT_TRUE(a_conn->flush(2s).ok());
  ASSERT_TRUE(b_conn->flush(2s).ok());

  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(pub->publish("oaio.q", "", std::to_string(i)).ok());
  ASSERT_TRUE(wait_until([&] { return a->size() + b->size() == kCount && all->size() == kCount; }));
  ASSERT_TRUE(pub->flush(2s).ok());

  std::set<std::string> seen;
  for (const auto& m : a->messages()) seen.insert(m.data);
  for (const auto& m : b->messages()) seen.insert(m.data);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount));  // no message went to both
  EXPECT_EQ(a->size() + b->size(), static_cast<std::size_t>(kCount));
  EXPECT_GT(a->size(), 0u);
  EXPECT_GT(b->size(), 0u);
}

TEST(NatsTransportTest, ReplySubjectIsDeliveredAndAnswerable) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  std::weak_ptr<Transport> weak = t;
  auto requests = MessageLog::make();
  // A responder that answers on the NATS reply subject from inside its handler.
  auto responder = subscribe_or_die(*t, "oaio.svc", "svc", [requests, weak](const TransportMessage& m) {
    requests->add(m);
    if (auto tr = weak.lock()) {
      EXPECT_TRUE(tr->publish(m.reply, "", "pong:" + std::string(m.data)).ok());
    }
  });
  const std::string inbox = t->new_inbox();
  auto replies = MessageLog::make();
  auto inbox_sub = subscribe_or_die(*t, inbox, "", replies->handler());

  ASSERT_TRUE(t->publish("oaio.svc", inbox, "ping").ok());
  ASSERT_TRUE(wait_until([&] { return replies->size() == 1; }));
  EXPECT_EQ(requests->render(), "oaio.svc|" + inbox + "|ping|0\n");
  EXPECT_EQ(replies->render(), inbox + "||pong:ping|0\n");
}

TEST(NatsTransportTest, InboxesAreUnique) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  std::set<std::string> inboxes;
  for (int i = 0; i < 10000; ++i) {
    std::string inbox = t->new_inbox();
    ASSERT_EQ(inbox.rfind("_INBOX.", 0), 0u) << inbox;
    ASSERT_EQ(inbox.find('.', 7), std::string::npos) << inbox;  // exactly one token after the prefix
    ASSERT_GT(inbox.size(), 7u);
    inboxes.insert(std::move(inbox));
  }
  EXPECT_EQ(inboxes.size(), 10000u);
}

TEST(NatsTransportTest, NoRespondersReaches503ToTheInbox) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->capabilities().no_responders);
  const std::string inbox = t->new_inbox();
  auto replies = MessageLog::make();
  auto sub = subscribe_or_die(*t, inbox, "", replies->handler());

  ASSERT_TRUE(t->publish("oaio.invoke.nobody", inbox, "request").ok());
  ASSERT_TRUE(wait_until([&] { return replies->size() == 1; }));
  EXPECT_EQ(replies->render(), inbox + "|||503\n");
}

TEST(NatsTransportTest, NoRespondersOffMeansNo503) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto o = options_for(server);
  o.no_responders = false;
  auto t = connect_or_die(o);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->capabilities().no_responders);
  const std::string inbox = t->new_inbox();
  auto replies = MessageLog::make();
  auto sub = subscribe_or_die(*t, inbox, "", replies->handler());

  ASSERT_TRUE(t->publish("oaio.invoke.nobody", inbox, "request").ok());
  // The server handles one connection's messages in order: a 503 would come first.
  ASSERT_TRUE(t->publish(inbox, "", "sentinel").ok());
  ASSERT_TRUE(wait_until([&] { return replies->size() >= 1; }));
  ASSERT_TRUE(t->flush(2s).ok());
  EXPECT_EQ(replies->render(), inbox + "||sentinel|0\n");
}

TEST(NatsTransportTest, MaxPayloadIsEnforcedLocally) {
  test::NatsServerOptions so;
  so.max_payload = 4096;
  NatsServer server(so);
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->capabilities().max_payload, 4096u);
  auto log = MessageLog::make();
  auto sub = subscribe_or_die(*t, "oaio.big", "", log->handler());

  Status st = t->publish("oaio.big", "", std::string(5000, 'x'));
  EXPECT_EQ(st.code(), ErrorCode::kInvalidRequest) << st.to_string();
  EXPECT_THAT(st.message(), HasSubstr("message of 5000 bytes exceeds the server's max_payload of 4096 bytes"));
  EXPECT_TRUE(t->connected());  // nothing was sent, so the server did not drop us

  ASSERT_TRUE(t->publish("oaio.big", "", std::string(4096, 'y')).ok());
  ASSERT_TRUE(t->publish("oaio.big", "", "after").ok());
  ASSERT_TRUE(wait_until([&] { return log->size() == 2; }));
  auto got = log->messages();
  EXPECT_EQ(got[0].data.size(), 4096u);
  EXPECT_EQ(got[1].data, "after");
}

TEST(NatsTransportTest, ConnectFailureIsQuickAndNamesTheServer) {
  const int port = test::free_loopback_port();  // nothing listens there
  NatsOptions o;
  o.servers = {"nats://127.0.0.1:" + std::to_string(port)};
  const auto start = std::chrono::steady_clock::now();
  auto t = connect_nats(o);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kTransportFailure);
  EXPECT_THAT(t.status().message(), HasSubstr("nats connect nats://127.0.0.1:" + std::to_string(port) + ": "));
  EXPECT_THAT(t.status().message(), HasSubstr("No server available"));
  EXPECT_LT(elapsed, 2s);
}

TEST(NatsTransportTest, InvalidOptionsAreRejectedBeforeConnecting) {
  NatsOptions o;
  o.servers = {};
  EXPECT_EQ(connect_nats(o).status().code(), ErrorCode::kInvalidRequest);

  o.servers = {"nats://127.0.0.1:1"};
  o.nkey_seed = "SUNOTASEED";
  auto bad_seed = connect_nats(o);
  EXPECT_EQ(bad_seed.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(bad_seed.status().message(), HasSubstr("nkey_seed"));
  EXPECT_THAT(bad_seed.status().message(), ::testing::Not(HasSubstr("SUNOTASEED")));  // secrets stay out

  o.nkey_seed.clear();
  o.credentials_file = "/nonexistent/user.creds";
  auto bad_creds = connect_nats(o);
  EXPECT_EQ(bad_creds.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(bad_creds.status().message(), HasSubstr("/nonexistent/user.creds"));

  o.credentials_file.clear();
  o.tls.ca_file = "/nonexistent/ca.pem";
  auto bad_ca = connect_nats(o);
  EXPECT_EQ(bad_ca.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(bad_ca.status().message(), HasSubstr("tls.ca_file"));
}

TEST(NatsTransportTest, SplitServerList) {
  EXPECT_EQ(split_server_list("nats://a:4222,nats://b:4222"),
            (std::vector<std::string>{"nats://a:4222", "nats://b:4222"}));
  EXPECT_EQ(split_server_list(" nats://a:1 , ,nats://b:2 ,"), (std::vector<std::string>{"nats://a:1", "nats://b:2"}));
  EXPECT_TRUE(split_server_list("").empty());
  EXPECT_EQ(split_server_list("tls://x:1"), (std::vector<std::string>{"tls://x:1"}));
}

TEST(NatsTransportTest, ServerCrashFailsFastThenReconnectResumesSubscriptions) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  auto events = EventLog::make();
  t->add_connection_listener(events->listener());
  auto log = MessageLog::make();
  auto sub = subscribe_or_die(*t, "oaio.resume", "", log->handler());
  ASSERT_TRUE(t->publish("oaio.resume", "", "before").ok());
  ASSERT_TRUE(wait_until([&] { return log->size() == 1; }));

  server.kill();
  ASSERT_TRUE(wait_until([&] { return events->count(ConnectionEvent::kDisconnected) == 1; }));
  EXPECT_FALSE(t->connected());
  const auto start = std::chrono::steady_clock::now();
  Status st = t->publish("oaio.resume", "", "lost");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(st.code(), ErrorCode::kTransportFailure) << st.to_string();
  EXPECT_THAT(st.message(), HasSubstr("not connected"));
  EXPECT_EQ(t->flush(500ms).code(), ErrorCode::kTransportFailure);

  ASSERT_TRUE(server.restart());
  ASSERT_TRUE(wait_until([&] { return events->count(ConnectionEvent::kReconnected) == 1; }, 10s)) << server.log();
  EXPECT_TRUE(t->connected());
  ASSERT_TRUE(t->publish("oaio.resume", "", "after").ok());  // the old subscription is back
  ASSERT_TRUE(wait_until([&] { return log->size() == 2; }));
  EXPECT_EQ(log->render(), "oaio.resume||before|0\noaio.resume||after|0\n");

  auto fresh = MessageLog::make();
  auto sub2 = subscribe_or_die(*t, "oaio.fresh", "", fresh->handler());
  ASSERT_TRUE(t->publish("oaio.fresh", "", "new").ok());
  ASSERT_TRUE(wait_until([&] { return fresh->size() == 1; }));
  EXPECT_EQ(events->count(ConnectionEvent::kClosed), 0);
}

TEST(NatsTransportTest, RetryOnFailedConnectConnectsWhenTheServerAppears) {
  test::NatsServerOptions so;
  so.port = test::free_loopback_port();
  NatsServer server(so);
  NatsOptions o;
  o.servers = {"nats://127.0.0.1:" + std::to_string(so.port)};
  o.retry_on_failed_connect = true;
  o.reconnect_wait = 50ms;
  auto t = connect_or_die(o);
  ASSERT_TRUE(t);
  auto events = EventLog::make();
  t->add_connection_listener(events->listener());
  EXPECT_FALSE(t->connected());
  EXPECT_EQ(t->publish("oaio.early", "", "x").code(), ErrorCode::kTransportFailure);

  ASSERT_TRUE(server.start());
  ASSERT_TRUE(wait_until([&] { return t->connected(); }, 10s));
  ASSERT_TRUE(wait_until([&] { return events->count(ConnectionEvent::kReconnected) == 1; }));
  EXPECT_TRUE(t->publish("oaio.early", "", "x").ok());
}

TEST(NatsTransportTest, CloseIsIdempotentAndReported) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  auto events = EventLog::make();
  const int id = t->add_connection_listener(events->listener());
  auto removed = EventLog::make();
  t->remove_connection_listener(t->add_connection_listener(removed->listener()));

  t->close();
  t->close();
  ASSERT_TRUE(wait_until([&] { return events->count(ConnectionEvent::kClosed) == 1; }));
  EXPECT_FALSE(t->connected());
  Status st = t->publish("oaio.closed", "", "x");
  EXPECT_EQ(st.code(), ErrorCode::kTransportFailure);
  EXPECT_THAT(st.message(), HasSubstr("closed"));
  EXPECT_EQ(t->subscribe("oaio.closed", "", [](const TransportMessage&) {}).status().code(),
            ErrorCode::kTransportFailure);
  EXPECT_EQ(removed->count(ConnectionEvent::kClosed), 0);
  t->remove_connection_listener(id);
}

// Holds a subscription that its own handler may reset.
struct SubSlot {
  std::mutex mu;
  std::unique_ptr<TransportSubscription> sub;  // guarded by mu
};

TEST(NatsTransportTest, UnsubscribeAndDestroyFromInsideTheHandler) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  auto observer = MessageLog::make();
  auto observer_sub = subscribe_or_die(*t, "oaio.self", "", observer->handler());

  auto unsub_calls = std::make_shared<std::atomic<int>>(0);
  auto unsub_slot = std::make_shared<SubSlot>();
  auto destroy_calls = std::make_shared<std::atomic<int>>(0);
  auto destroy_slot = std::make_shared<SubSlot>();
  {
    std::lock_guard l1(unsub_slot->mu), l2(destroy_slot->mu);
    unsub_slot->sub = subscribe_or_die(*t, "oaio.self", "", [unsub_calls, unsub_slot](const TransportMessage&) {
      ++*unsub_calls;
      std::lock_guard lock(unsub_slot->mu);
      unsub_slot->sub->unsubscribe();
    });
    destroy_slot->sub = subscribe_or_die(*t, "oaio.self", "", [destroy_calls, destroy_slot](const TransportMessage&) {
      ++*destroy_calls;
      std::lock_guard lock(destroy_slot->mu);
      destroy_slot->sub.reset();
    });
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(t->publish("oaio.self", "", std::to_string(i)).ok());
  ASSERT_TRUE(wait_until([&] { return observer->size() == 20; }));
  // Each subscription has its own delivery thread: wait for the first calls.
  ASSERT_TRUE(wait_until([&] { return unsub_calls->load() >= 1 && destroy_calls->load() >= 1; }));
  ASSERT_TRUE(t->flush(2s).ok());
  // 19 more messages were queued behind the first; the closed subscription must drop
  // them (nats.c checks its closed flag before each call, on the same thread).
  EXPECT_EQ(unsub_calls->load(), 1);
  EXPECT_EQ(destroy_calls->load(), 1);
}

TEST(NatsTransportTest, DestroyingTheTransportWithLiveSubscriptionsIsSafe) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto t = connect_or_die(options_for(server));
  ASSERT_TRUE(t);
  auto entered = std::make_shared<std::atomic<bool>>(false);
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto blocking = subscribe_or_die(*t, "oaio.slow", "", [entered, release, finished](const TransportMessage&) {
    *entered = true;
    wait_until([&] { return release->load(); }, 5s);
    *finished = true;
  });
  auto log = MessageLog::make();
  auto busy = subscribe_or_die(*t, "oaio.busy", "", log->handler());
  ASSERT_TRUE(t->publish("oaio.slow", "", "x").ok());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(t->publish("oaio.busy", "", "m").ok());
  ASSERT_TRUE(wait_until([&] { return entered->load(); }));

  const auto start = std::chrono::steady_clock::now();
  t.reset();  // a handler is running and more messages may be queued
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);  // does not wait for the handler
  *release = true;
  ASSERT_TRUE(wait_until([&] { return finished->load(); }));
  blocking.reset();  // after the transport: must still be safe
  busy->unsubscribe();
  busy.reset();
}

TEST(NatsTransportTest, BurstOf10kArrivesCompleteAndInOrder) {
  NatsServer server;
  ASSERT_TRUE(server.start());
  auto sub_conn = connect_or_die(options_for(server));
  auto pub_conn = connect_or_die(options_for(server));
  ASSERT_TRUE(sub_conn && pub_conn);
  auto log = MessageLog::make();
  auto sub = subscribe_or_die(*sub_conn, "oaio.burst", "", log->handler());
  ASSERT_TRUE(sub_conn->flush(2s).ok());

  constexpr int kCount = 10000;
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(pub_conn->publish("oaio.burst", "", std::to_string(i)).ok());
  ASSERT_TRUE(pub_conn->flush(5s).ok());
  ASSERT_TRUE(wait_until([&] { return log->size() == kCount; }, 20s)) << log->size();
  auto got = log->messages();
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(got[i].data, std::to_string(i)) << "at " << i;
}

}  // namespace
}  // namespace oaio
