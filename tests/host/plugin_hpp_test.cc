// plugin.hpp's guarantees, through the hpp_guard test plugin (built as C++17): the
// table comes from Info, nothing a hook throws crosses the ABI (it is logged and
// becomes an error), Failure keeps its code, missing host entries read as
// OAIO_ERR_INCOMPATIBLE, and subscriptions/outgoing calls reach std::function callbacks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "host/fake_host.h"
#include "plugin_loader.h"

namespace oaio::host {
namespace {

using ::testing::HasSubstr;
using test::FakeCall;
using test::FakeHost;
using test::fake_log;

class PluginHppTest : public ::testing::Test {
 protected:
  static std::shared_ptr<LoadedPlugin> plugin() {
    static PluginLoader* loader = new PluginLoader(test::fake_host_api());
    if (auto p = loader->find("hpp_guard")) return p;
    auto r = loader->load(test::test_plugin_path("hpp_guard"));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : nullptr;
  }

  void SetUp() override {
    plugin_ = plugin();
    ASSERT_NE(plugin_, nullptr);
    err_.struct_size = sizeof err_;
  }
  void TearDown() override {
    if (instance_ != nullptr) {
      api().stop(instance_);
      api().destroy(instance_);
    }
  }
  const oaio_plugin_api& api() const { return plugin_->api; }
  oaio_status create(const std::string& config) {
    return api().create(host_.handle(), test::os(config), &instance_, &err_);
  }
  std::string message() const { return std::string(test::sv(err_.message)); }

  std::shared_ptr<LoadedPlugin> plugin_;
  FakeHost host_;
  void* instance_ = nullptr;
  oaio_error err_{};
};

TEST_F(PluginHppTest, BuildsTheTableFromInfo) {
  EXPECT_EQ(plugin_->name(), "hpp_guard");
  EXPECT_EQ(plugin_->version(), "0.0.1");
  EXPECT_EQ(api().struct_size, sizeof(oaio_plugin_api));
  EXPECT_EQ(api().abi_major, 1u);
  EXPECT_EQ(api().abi_minor, 0u);
  EXPECT_EQ(api().flows, OAIO_FLOW_INVOKE);
  EXPECT_EQ(api().features, OAIO_FEATURE_CANCEL);
  EXPECT_EQ(plugin_->config_schema(), R"({"type":"object"})");
  EXPECT_EQ(api().manifest_types.len, 0u);
  for (bool present : {api().create != nullptr, api().start != nullptr, api().drain != nullptr,
                       api().stop != nullptr, api().destroy != nullptr, api().call != nullptr,
                       api().cancel != nullptr})
    EXPECT_TRUE(present);
}

TEST_F(PluginHppTest, ACreatedBridgeServesCalls) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  ASSERT_NE(instance_, nullptr);
  ASSERT_EQ(host_.target_list().size(), 1u);
  EXPECT_EQ(host_.target_list()[0].name, "guard");
  ASSERT_EQ(api().start(instance_, &err_), OAIO_OK);
  FakeCall c("guard", R"({"hello":1})", false);
  ASSERT_EQ(api().call(instance_, c.handle(), &err_), OAIO_OK);
  EXPECT_EQ(c.last(), R"(complete {"hello":1})");
  EXPECT_EQ(api().drain(instance_, 10), OAIO_OK);
}

TEST_F(PluginHppTest, AStdExceptionInTheConstructorBecomesInternal) {
  EXPECT_EQ(create(R"({"x":"throw_std"})"), OAIO_ERR_INTERNAL);
  EXPECT_EQ(instance_, nullptr);
  EXPECT_EQ(err_.code, OAIO_ERR_INTERNAL);
  EXPECT_EQ(message(), "create: exception: constructor boom");
  EXPECT_GE(fake_log().count("create: exception: constructor boom"), 1u);
}

TEST_F(PluginHppTest, AFailureKeepsItsCodeAndMessage) {
  EXPECT_EQ(create(R"({"x":"throw_failure"})"), OAIO_ERR_INVALID_REQUEST);
  EXPECT_EQ(instance_, nullptr);
  EXPECT_EQ(message(), "config refused");
}

TEST_F(PluginHppTest, ANonStandardExceptionIsCaughtToo) {
  EXPECT_EQ(create(R"({"x":"throw_int"})"), OAIO_ERR_INTERNAL);
  EXPECT_EQ(message(), "create: non-standard exception");
}

TEST_F(PluginHppTest, AStartErrorFillsTheWholeErrorDetail) {
  ASSERT_EQ(create(R"({"x":"start_fails"})"), OAIO_OK);
  EXPECT_EQ(api().start(instance_, &err_), OAIO_ERR_TRANSPORT);
  EXPECT_EQ(err_.code, OAIO_ERR_TRANSPORT);
  EXPECT_EQ(message(), "upstream down");
  EXPECT_EQ(err_.retryable, 1);
  EXPECT_EQ(err_.retry_after_ms, 1500u);
}

TEST_F(PluginHppTest, AThrowingCallHookFailsTheCallWithoutEndingIt) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  FakeCall c("guard", R"("throw")", false);
  EXPECT_EQ(api().call(instance_, c.handle(), &err_), OAIO_ERR_INTERNAL);
  EXPECT_EQ(message(), "call: exception: call boom");
  EXPECT_TRUE(c.frame_list().empty());  // the host fails it from the returned error

  FakeCall r("guard", R"("refuse")", false);
  EXPECT_EQ(api().call(instance_, r.handle(), &err_), OAIO_ERR_INVALID_REQUEST);
  EXPECT_EQ(message(), "refused");
}

TEST_F(PluginHppTest, AMissingHostEntryIsIncompatible) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  FakeCall c("guard", R"("publish")", false);  // the fake host has no publish
  ASSERT_EQ(api().call(instance_, c.handle(), &err_), OAIO_OK);
  EXPECT_EQ(c.last(), "complete {\"publish\":" + std::to_string(OAIO_ERR_INCOMPATIBLE) + "}");
}

TEST_F(PluginHppTest, AnOutgoingCallReachesItsCallback) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  FakeCall c("guard", R"("invoke")", false);  // the fake host answers before invoke returns
  ASSERT_EQ(api().call(instance_, c.handle(), &err_), OAIO_OK) << message();
  EXPECT_EQ(c.last(), R"(complete {"q":1})");
}

TEST_F(PluginHppTest, SubscriptionsDeliverAndEndWithStop) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  FakeCall c("guard", R"("subscribe")", false);
  ASSERT_EQ(api().call(instance_, c.handle(), &err_), OAIO_OK);
  EXPECT_EQ(c.last(), R"(complete {"subscribe":0})");
  ASSERT_EQ(host_.active_subscriptions(), 1);
  EXPECT_EQ(host_.deliver("test.event", R"({"n":1})"), 1);
  EXPECT_GE(fake_log().count(R"(event {"n":1})"), 1u);
  EXPECT_EQ(host_.deliver("test.event", R"("throw")"), 1);  // the callback throws: logged, not propagated
  EXPECT_GE(fake_log().count("subscription callback threw: event boom"), 1u);
  api().stop(instance_);  // the helper unsubscribes what the bridge left
  EXPECT_EQ(host_.active_subscriptions(), 0);
  api().destroy(instance_);
  instance_ = nullptr;
}

TEST_F(PluginHppTest, ThrowingCancelAndStopHooksAreSwallowed) {
  ASSERT_EQ(create(R"({"x":"stop_throws"})"), OAIO_OK);
  FakeCall c("guard", "{}", false);
  api().cancel(instance_, c.handle());
  EXPECT_GE(fake_log().count("cancel: exception: cancel boom"), 1u);
  api().stop(instance_);
  EXPECT_GE(fake_log().count("stop: exception: stop boom"), 1u);
  api().destroy(instance_);
  instance_ = nullptr;
}

}  // namespace
}  // namespace oaio::host
