// The two example plugins (plain-C echo_c and plugin.hpp-based echo_cpp) driven
// through the raw ABI with a fake host: describe, config, invoke, stream chunks, error
// mapping, async completion from the plugin's own thread, cancel, drain and stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "host/fake_host.h"
#include "plugin_loader.h"

namespace oaio::host {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
using test::FakeCall;
using test::FakeHost;

struct EchoCase {
  std::string plugin;          // plugin name
  std::string default_target;  // config "target" default
  std::string path;            // the library; "" = the example of that name
};

void PrintTo(const EchoCase& c, std::ostream* os) { *os << c.plugin; }

class EchoPluginTest : public ::testing::TestWithParam<EchoCase> {
 protected:
  // One loader for the process: each library is loaded (and its entry called) once.
  static PluginLoader& loader() {
    static PluginLoader* l = new PluginLoader(test::fake_host_api());
    return *l;
  }

  void SetUp() override {
    plugin_ = loader().find(GetParam().plugin);
    if (plugin_ == nullptr) {
      const EchoCase& c = GetParam();
      auto r = loader().load(c.path.empty() ? test::example_plugin_path(c.plugin) : c.path);
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      plugin_ = *r;
    }
  }
  void TearDown() override {
    if (instance_ != nullptr) {
      api().stop(instance_);
      api().destroy(instance_);
    }
  }

  const oaio_plugin_api& api() const { return plugin_->api; }
  const std::string& name() const { return GetParam().plugin; }

  // create + start; returns create's status, with the error message in `message`.
  oaio_status create(const std::string& config, std::string* message = nullptr) {
    oaio_error err{};
    err.struct_size = sizeof err;
    void* instance = nullptr;
    oaio_status s = api().create(host_.handle(), test::os(config), &instance, &err);
    if (message != nullptr) *message = std::string(test::sv(err.message));
    if (s != OAIO_OK) {
      EXPECT_EQ(err.code, s);
      return s;
    }
    instance_ = instance;
    s = api().start(instance_, &err);
    EXPECT_EQ(s, OAIO_OK) << test::sv(err.message);
    return s;
  }

  // Hands one call to the plugin; `status` gets the hook's result.
  std::unique_ptr<FakeCall> call(const std::string& payload, bool stream, oaio_status* status = nullptr,
                                 std::string* message = nullptr) {
    auto c = std::make_unique<FakeCall>(GetParam().default_target, payload, stream);
    oaio_error err{};
    err.struct_size = sizeof err;
    oaio_status s = api().call(instance_, c->handle(), &err);
    if (status != nullptr) *status = s;
    if (message != nullptr) *message = std::string(test::sv(err.message));
    if (status == nullptr) {
      EXPECT_EQ(s, OAIO_OK) << test::sv(err.message);
    }
    return c;
  }

  // The final payload of an ended call, parsed.
  static Json final_json(const FakeCall& c) {
    std::string last = c.last();
    EXPECT_EQ(last.rfind("complete ", 0), 0u) << last;
    return Json::parse(last.substr(9), nullptr, false);
  }

  FakeHost host_;
  std::shared_ptr<LoadedPlugin> plugin_;
  void* instance_ = nullptr;
};

TEST_P(EchoPluginTest, DescribesItself) {
  EXPECT_EQ(plugin_->name(), name());
  EXPECT_EQ(plugin_->version(), "1.0.0");
  EXPECT_EQ(api().struct_size, sizeof(oaio_plugin_api));
  EXPECT_EQ(api().abi_minor, 0u);
  EXPECT_EQ(api().flows, OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM);
  EXPECT_EQ(api().features, OAIO_FEATURE_CANCEL | OAIO_FEATURE_NONBLOCKING_CALL);
  EXPECT_NE(api().drain, nullptr);
  EXPECT_NE(api().cancel, nullptr);
  Json want = Json::parse(R"({"type":"object","properties":{"target":{"type":"string","default":"DEFAULT"},
      "delay_ms":{"type":"integer","minimum":0},"chunk_size":{"type":"integer","minimum":1}},
      "additionalProperties":false})");
  want["properties"]["target"]["default"] = GetParam().default_target;
  EXPECT_EQ(Json::parse(plugin_->config_schema()), want);
}

TEST_P(EchoPluginTest, RegistersTheDefaultTarget) {
  ASSERT_EQ(create(""), OAIO_OK);
  auto targets = host_.target_list();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].name, GetParam().default_target);
  EXPECT_EQ(targets[0].flows, OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM);
  EXPECT_FALSE(Json::parse(targets[0].input_schema, nullptr, false).is_discarded());
}

TEST_P(EchoPluginTest, RegistersTheConfiguredTarget) {
  ASSERT_EQ(create(R"({"target":"tools.echo","chunk_size":3,"delay_ms":0})"), OAIO_OK);
  auto targets = host_.target_list();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].name, "tools.echo");
}

TEST_P(EchoPluginTest, RefusesAConfigItCannotUse) {
  for (const char* bad : {R"({"chunk_size":0})", R"({"delay_ms":-1})", R"({"target":""})", R"({"target":5})",
                          R"({"bogus":1})", "[1]", "{nope"}) {
    std::string message;
    EXPECT_EQ(create(bad, &message), OAIO_ERR_INVALID_REQUEST) << bad;
    EXPECT_THAT(message, HasSubstr(name() + ": ")) << bad;
    EXPECT_EQ(instance_, nullptr);
  }
  EXPECT_TRUE(host_.target_list().empty());
}

TEST_P(EchoPluginTest, InvokeCompletesWithTheEcho) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  std::string payload = R"({"text":"hi","n":[1,2,{"x":null}]})";
  auto c = call(payload, false);
  ASSERT_TRUE(c->wait_ended());
  EXPECT_EQ(c->frame_list().size(), 1u);  // no stream frames for an invoke caller
  EXPECT_EQ(final_json(*c), Json({{"echo", Json::parse(payload)}, {"plugin", name()}}));
}

TEST_P(EchoPluginTest, NoPayloadEchoesNull) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  auto c = call("", false);
  ASSERT_TRUE(c->wait_ended());
  EXPECT_EQ(final_json(*c), Json({{"echo", nullptr}, {"plugin", name()}}));
}

TEST_P(EchoPluginTest, StreamSendsStartedThenChunksThenTheFinal) {
  ASSERT_EQ(create(R"({"chunk_size":4})"), OAIO_OK);
  // 14 code points: é, ö and the emoji (a surrogate pair in JSON) count as one each.
  std::string payload = R"({"text":"h\u00e9llo w\u00f6rld\ud83d\ude00\"\n"})";
  auto c = call(payload, true);
  ASSERT_TRUE(c->wait_ended());
  auto frames = c->frame_list();
  ASSERT_EQ(frames.size(), 6u) << ::testing::PrintToString(frames);
  EXPECT_EQ(Json::parse(frames[0].substr(8)), Json({{"plugin", name()}}));
  std::vector<std::string> deltas;
  for (std::size_t i = 1; i + 1 < frames.size(); ++i) {
    ASSERT_EQ(frames[i].rfind("delta ", 0), 0u) << frames[i];
    Json d = Json::parse(frames[i].substr(6));
    ASSERT_EQ(d.size(), 1u);
    deltas.push_back(d["delta"].get<std::string>());
  }
  EXPECT_THAT(deltas, ::testing::ElementsAre("h\xc3\xa9ll", "o w\xc3\xb6", "rld\xf0\x9f\x98\x80", "\"\n"));
  EXPECT_EQ(final_json(*c), Json({{"echo", Json::parse(payload)}, {"plugin", name()}}));
}

TEST_P(EchoPluginTest, StreamWithoutTextSendsNoDeltas) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  auto c = call(R"({"other":1})", true);
  ASSERT_TRUE(c->wait_ended());
  auto frames = c->frame_list();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].rfind("started ", 0), 0u);
}

TEST_P(EchoPluginTest, FailPayloadFailsWithThatAcpCode) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  const std::pair<const char*, oaio_status> codes[] = {
      {"AGENT_TIMEOUT", OAIO_ERR_AGENT_TIMEOUT},     {"AGENT_UNAVAILABLE", OAIO_ERR_AGENT_UNAVAILABLE},
      {"BACKPRESSURE_DROP", OAIO_ERR_BACKPRESSURE},  {"TRANSPORT_FAILURE", OAIO_ERR_TRANSPORT},
      {"CODEC_FAILURE", OAIO_ERR_CODEC},             {"AUTH_FAILURE", OAIO_ERR_AUTH},
      {"INVALID_REQUEST", OAIO_ERR_INVALID_REQUEST}, {"NO_HANDLER", OAIO_ERR_NO_HANDLER}};
  for (const auto& [code, status] : codes) {
    auto c = call(Json({{"fail", {{"code", code}, {"message", std::string("as \"asked\" ") + code}}}}).dump(), true);
    ASSERT_TRUE(c->wait_ended());
    EXPECT_EQ(c->frame_list().size(), 1u) << code;  // no stream frames before an asked-for failure
    EXPECT_EQ(c->last(), "fail " + std::to_string(status) + " as \"asked\" " + code);
    EXPECT_EQ(c->retryable, -1) << code;
  }
  auto hint = call(R"({"fail":{"code":"BACKPRESSURE_DROP","message":"slow down","retryable":true,"retry_after_ms":250}})",
                   false);
  ASSERT_TRUE(hint->wait_ended());
  EXPECT_EQ(hint->last(), "fail 3 slow down");
  EXPECT_EQ(hint->retryable, 1);
  EXPECT_EQ(hint->retry_after_ms, 250u);
  auto unknown = call(R"({"fail":{"code":"NOT_A_CODE"}})", false);
  ASSERT_TRUE(unknown->wait_ended());
  EXPECT_THAT(unknown->last(), HasSubstr("fail 7 " + name() + ": unknown fail code"));
}

TEST_P(EchoPluginTest, APayloadThatIsNotJsonFails) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  for (const char* bad : {"{bad", R"({"a":1,})", R"({"a":1} x)", R"({"a" 1})", R"({"text":"x")", "[1,]", "tru"}) {
    auto c = call(bad, false);
    ASSERT_TRUE(c->wait_ended()) << bad;
    EXPECT_EQ(c->last(), "fail 7 " + name() + ": payload is not valid JSON") << bad;
  }
  // Valid payloads of every shape are echoed whole.
  for (const char* good : {R"({"a":[1,{"b":null}],"text":"hi"})", "[1,2]", "\"s\"", "-1.5e3", "true", "{ }"}) {
    auto c = call(good, false);
    ASSERT_TRUE(c->wait_ended()) << good;
    EXPECT_THAT(c->last(), HasSubstr(std::string("\"echo\":") + good)) << good;
  }
}

// The C plugin skips plain text a block (16 or 8 bytes) at a time: a quote, backslash
// or control character must be seen wherever it falls relative to a block.
TEST_P(EchoPluginTest, StringsAreCheckedWhereverTheSpecialByteFalls) {
  ASSERT_EQ(create("{}"), OAIO_OK);
  for (std::size_t before = 0; before <= 40; ++before) {
    const std::string lead(before, 'x'), tail(40 - before, 'y');
    for (const std::string& special : {std::string("\\\""), std::string("\\\\"), std::string("\\n"),
                                       std::string("\\u00e9"), std::string("\xc3\xa9")}) {
      const std::string good = R"({"text":")" + lead + special + tail + R"(","n":1})";
      auto c = call(good, false);
      ASSERT_TRUE(c->wait_ended()) << good;
      EXPECT_THAT(c->last(), HasSubstr(std::string("\"echo\":") + good)) << good;
    }
    for (const std::string& bad : {R"({"text":")" + lead + "\n" + tail + R"("})",     // raw control character
                                   R"({"text":")" + lead + "\x01" + tail + R"("})",   // another one
                                   R"({"text":")" + lead + "\"" + tail + R"("})",     // the string ends early
                                   R"({"text":")" + lead + tail + R"(})",              // and never ends
                                   R"({"text":")" + lead + tail + "\\"}) {           // ends in an escape
      auto c = call(bad, false);
      ASSERT_TRUE(c->wait_ended()) << bad;
      EXPECT_EQ(c->last(), "fail 7 " + name() + ": payload is not valid JSON") << bad;
    }
  }
}

TEST_P(EchoPluginTest, DelayedCallCompletesFromThePluginsThread) {
  ASSERT_EQ(create(R"({"delay_ms":20,"chunk_size":2})"), OAIO_OK);
  auto c = call(R"({"text":"abc"})", true);
  ASSERT_TRUE(c->wait_ended());
  EXPECT_NE(c->ended_on, std::this_thread::get_id());
  auto frames = c->frame_list();
  ASSERT_EQ(frames.size(), 4u);  // started, "ab", "c", final
  EXPECT_EQ(frames[1], R"(delta {"delta":"ab"})");
  EXPECT_EQ(final_json(*c)["plugin"], name());
}

TEST_P(EchoPluginTest, ACancelledDelayedCallIsFailedOnceAndSendsNothingMore) {
  ASSERT_EQ(create(R"({"delay_ms":150})"), OAIO_OK);
  auto a = call(R"({"text":"cancel me"})", true);
  a->cancel();                      // the host marks it, then calls the hook
  api().cancel(instance_, a->handle());
  ASSERT_TRUE(a->wait_ended(std::chrono::milliseconds(100)));  // at once, not after the delay
  EXPECT_EQ(a->last(), "fail 64 " + name() + ": cancelled");
  EXPECT_TRUE(a->dropped);
  api().cancel(instance_, a->handle());  // idempotent

  // A later call with the same delay is answered after the cancelled one would have been.
  auto b = call(R"({"text":"after"})", false);
  ASSERT_TRUE(b->wait_ended());
  EXPECT_EQ(final_json(*b)["echo"]["text"], "after");
  api().cancel(instance_, b->handle());  // a cancel racing a completed call changes nothing
  EXPECT_EQ(a->frame_list().size(), 1u);
  EXPECT_EQ(a->late, 0);
  EXPECT_EQ(b->frame_list().size(), 1u);
  EXPECT_EQ(b->late, 0);
}

TEST_P(EchoPluginTest, StopFailsTheCallsStillPending) {
  ASSERT_EQ(create(R"({"delay_ms":600000})"), OAIO_OK);
  auto a = call("{}", false);
  auto b = call("{}", true);
  api().stop(instance_);
  ASSERT_TRUE(a->wait_ended(std::chrono::milliseconds(1)));  // stop returned: already failed
  EXPECT_EQ(a->last(), "fail 2 " + name() + ": bridge stopped");
  EXPECT_EQ(b->last(), "fail 2 " + name() + ": bridge stopped");
  api().destroy(instance_);
  instance_ = nullptr;
}

TEST_P(EchoPluginTest, DrainWaitsForPendingCallsThenRefusesNewOnes) {
  ASSERT_EQ(create(R"({"delay_ms":30})"), OAIO_OK);
  auto a = call("{}", false);
  EXPECT_EQ(api().drain(instance_, 10000), OAIO_OK);
  EXPECT_TRUE(a->wait_ended(std::chrono::milliseconds(1)));
  oaio_status s = OAIO_OK;
  std::string message;
  auto b = call("{}", false, &s, &message);
  EXPECT_EQ(s, OAIO_ERR_AGENT_UNAVAILABLE);
  EXPECT_THAT(message, HasSubstr("draining"));
  EXPECT_TRUE(b->frame_list().empty());
}

TEST_P(EchoPluginTest, DrainTimesOutWithCallsStillPending) {
  ASSERT_EQ(create(R"({"delay_ms":600000})"), OAIO_OK);
  auto a = call("{}", false);
  EXPECT_EQ(api().drain(instance_, 10), OAIO_ERR_AGENT_TIMEOUT);
  api().stop(instance_);
  EXPECT_THAT(a->last(), HasSubstr("bridge stopped"));
  api().destroy(instance_);
  instance_ = nullptr;
}

TEST_P(EchoPluginTest, ManyConcurrentCallsEachEndExactlyOnce) {
  ASSERT_EQ(create(R"({"delay_ms":1})"), OAIO_OK);
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::unique_ptr<FakeCall>> calls(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        calls[n] = call("{\"n\":" + std::to_string(n) + "}", n % 2 == 0);
        if (n % 7 == 0) {
          calls[n]->cancel();
          api().cancel(instance_, calls[n]->handle());
        }
      }
    });
  for (auto& t : threads) t.join();
  for (std::size_t n = 0; n < calls.size(); ++n) {
    ASSERT_TRUE(calls[n]->wait_ended()) << n;
    EXPECT_EQ(calls[n]->late, 0) << n;
    std::string last = calls[n]->last();
    if (last.rfind("complete ", 0) == 0) {
      EXPECT_EQ(final_json(*calls[n])["echo"]["n"], static_cast<int>(n));
    } else {
      EXPECT_EQ(last, "fail 64 " + name() + ": cancelled") << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, EchoPluginTest,
                         ::testing::Values(EchoCase{"echo_c", "echo", ""}, EchoCase{"echo_cpp", "echo-cpp", ""},
                                           EchoCase{"echo_c_portable", "echo",
                                                    std::string(OAIO_BINARY_DIR) +
                                                        "/test-plugins/echo_c_portable/echo_c_portable.so"}),
                         [](const auto& p) { return p.param.plugin; });

}  // namespace
}  // namespace oaio::host
