// InboxMux: the table behind a connection's single reply-inbox subscription.
#include "inbox_mux.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace oaio::detail {
namespace {

TransportMessage message_to(const std::string& subject, std::string_view data = "x") {
  return TransportMessage{subject, {}, data, 0};
}

TEST(InboxMuxTest, InboxesAreUniqueAndOwned) {
  InboxMux mux("_INBOX.abc.");
  EXPECT_EQ(mux.wildcard(), "_INBOX.abc.*");
  auto a = mux.new_inbox(), b = mux.new_inbox();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("_INBOX.abc.", 0), 0u);
  EXPECT_TRUE(mux.owns(a));
  EXPECT_TRUE(mux.owns(b));
}

TEST(InboxMuxTest, OwnsOnlyItsOwnNumberedInboxes) {
  InboxMux mux("_INBOX.abc.");
  auto inbox = mux.new_inbox();
  EXPECT_FALSE(mux.owns(inbox + ".cancel")) << "a stream's cancel subject is an ordinary subscription";
  EXPECT_FALSE(mux.owns("_INBOX.abc."));
  EXPECT_FALSE(mux.owns("_INBOX.abc.x1"));
  EXPECT_FALSE(mux.owns("_INBOX.abc.01"));
  EXPECT_FALSE(mux.owns("_INBOX.abc.99999999999999999999999"));
  EXPECT_FALSE(mux.owns("_INBOX.other.1"));
  EXPECT_FALSE(mux.owns("acp.v1.invoke.echo"));
  EXPECT_FALSE(mux.owns(""));
}

TEST(InboxMuxTest, DeliversToTheInboxHandlerOnly) {
  auto mux = std::make_shared<InboxMux>("_INBOX.abc.");
  auto a = mux->new_inbox(), b = mux->new_inbox();
  std::vector<std::string> got_a, got_b;
  auto sub_a = mux->add(a, [&](const TransportMessage& m) { got_a.emplace_back(m.data); });
  auto sub_b = mux->add(b, [&](const TransportMessage& m) { got_b.emplace_back(m.data); });
  EXPECT_TRUE(mux->deliver(message_to(a, "1")));
  EXPECT_TRUE(mux->deliver(message_to(b, "2")));
  EXPECT_TRUE(mux->deliver(message_to(a, "3")));
  EXPECT_EQ(got_a, (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(got_b, (std::vector<std::string>{"2"}));
  EXPECT_FALSE(mux->deliver(message_to(mux->new_inbox()))) << "nobody listens there";
  EXPECT_FALSE(mux->deliver(message_to("_INBOX.abc.nope")));
}

TEST(InboxMuxTest, StatusMessagesReachTheHandler) {
  auto mux = std::make_shared<InboxMux>("_INBOX.abc.");
  auto a = mux->new_inbox();
  int status = 0;
  auto sub = mux->add(a, [&](const TransportMessage& m) { status = m.status; });
  EXPECT_TRUE(mux->deliver(TransportMessage{a, {}, {}, 503}));
  EXPECT_EQ(status, 503);
}

TEST(InboxMuxTest, UnsubscribeStopsDeliveryAndIsIdempotent) {
  auto mux = std::make_shared<InboxMux>("_INBOX.abc.");
  auto a = mux->new_inbox();
  int calls = 0;
  auto sub = mux->add(a, [&](const TransportMessage&) { ++calls; });
  EXPECT_TRUE(mux->deliver(message_to(a)));
  sub->unsubscribe();
  sub->unsubscribe();
  EXPECT_FALSE(mux->deliver(message_to(a)));
  EXPECT_EQ(calls, 1);
  sub.reset();  // destroying an unsubscribed subscription is harmless
  {
    auto scoped = mux->add(a, [&](const TransportMessage&) { ++calls; });
  }  // destroying unsubscribes
  EXPECT_FALSE(mux->deliver(message_to(a)));
  EXPECT_EQ(calls, 1);
}

TEST(InboxMuxTest, HandlerMayUnsubscribeItselfAndAddOthers) {
  auto mux = std::make_shared<InboxMux>("_INBOX.abc.");
  auto a = mux->new_inbox(), b = mux->new_inbox();
  std::unique_ptr<TransportSubscription> sub_a, sub_b;
  int b_calls = 0;
  sub_a = mux->add(a, [&](const TransportMessage&) {
    sub_a->unsubscribe();  // as a call does when its reply arrives
    sub_b = mux->add(b, [&](const TransportMessage&) { ++b_calls; });
  });
  EXPECT_TRUE(mux->deliver(message_to(a)));
  EXPECT_FALSE(mux->deliver(message_to(a)));
  EXPECT_TRUE(mux->deliver(message_to(b)));
  EXPECT_EQ(b_calls, 1);
}

TEST(InboxMuxTest, SubscriptionOutlivingTheMuxIsHarmless) {
  auto mux = std::make_shared<InboxMux>("_INBOX.abc.");
  auto sub = mux->add(mux->new_inbox(), [](const TransportMessage&) {});
  mux.reset();
  sub->unsubscribe();
  sub.reset();
  SUCCEED();
}

}  // namespace
}  // namespace oaio::detail
