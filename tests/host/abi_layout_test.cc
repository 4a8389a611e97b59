// The plugin ABI's layout, pinned: offsets and sizes of every struct in oaio/plugin.h
// on x86-64 LP64 (System V). A change here breaks every plugin already built; new
// fields go at the end of a struct, and then this file grows with them.
// Also: the plain-C example exports exactly one symbol, oaio_plugin_entry_v1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>

#include <cstddef>
#include <set>
#include <string>

#include "oaio/plugin.h"

namespace {

#if defined(__x86_64__) && defined(__LP64__)
#define OAIO_PIN(type, field, offset) static_assert(offsetof(type, field) == (offset), #type "." #field)
#define OAIO_PIN_SIZE(type, size) static_assert(sizeof(type) == (size), "sizeof " #type)

OAIO_PIN(oaio_str, data, 0);
OAIO_PIN(oaio_str, len, 8);
OAIO_PIN_SIZE(oaio_str, 16);

OAIO_PIN(oaio_error, struct_size, 0);
OAIO_PIN(oaio_error, code, 4);
OAIO_PIN(oaio_error, message, 8);
OAIO_PIN(oaio_error, retryable, 24);
OAIO_PIN(oaio_error, retry_after_ms, 28);
OAIO_PIN_SIZE(oaio_error, 32);

OAIO_PIN(oaio_call_info, struct_size, 0);
OAIO_PIN(oaio_call_info, target, 8);
OAIO_PIN(oaio_call_info, payload, 24);
OAIO_PIN(oaio_call_info, event_id, 40);
OAIO_PIN(oaio_call_info, session_id, 56);
OAIO_PIN(oaio_call_info, conversation_id, 72);
OAIO_PIN(oaio_call_info, tenant_id, 88);
OAIO_PIN(oaio_call_info, user_id, 104);
OAIO_PIN(oaio_call_info, channel, 120);
OAIO_PIN(oaio_call_info, trace_id, 136);
OAIO_PIN(oaio_call_info, traceparent, 152);
OAIO_PIN(oaio_call_info, metadata, 168);
OAIO_PIN(oaio_call_info, is_stream, 184);
OAIO_PIN(oaio_call_info, target_user_data, 192);
OAIO_PIN_SIZE(oaio_call_info, 200);

OAIO_PIN(oaio_target_desc, struct_size, 0);
OAIO_PIN(oaio_target_desc, name, 8);
OAIO_PIN(oaio_target_desc, flows, 24);
OAIO_PIN(oaio_target_desc, description, 32);
OAIO_PIN(oaio_target_desc, input_schema, 48);
OAIO_PIN(oaio_target_desc, user_data, 64);
OAIO_PIN_SIZE(oaio_target_desc, 72);

OAIO_PIN(oaio_call_opts, struct_size, 0);
OAIO_PIN(oaio_call_opts, timeout_ms, 4);
OAIO_PIN(oaio_call_opts, session_id, 8);
OAIO_PIN(oaio_call_opts, conversation_id, 24);
OAIO_PIN(oaio_call_opts, tenant_id, 40);
OAIO_PIN(oaio_call_opts, user_id, 56);
OAIO_PIN(oaio_call_opts, channel, 72);
OAIO_PIN(oaio_call_opts, metadata, 88);
OAIO_PIN(oaio_call_opts, parent, 104);
OAIO_PIN_SIZE(oaio_call_opts, 112);

OAIO_PIN(oaio_frame, struct_size, 0);
OAIO_PIN(oaio_frame, event_type, 8);
OAIO_PIN(oaio_frame, payload, 24);
OAIO_PIN(oaio_frame, envelope, 40);
OAIO_PIN(oaio_frame, seq, 56);
OAIO_PIN(oaio_frame, is_final, 64);
OAIO_PIN_SIZE(oaio_frame, 72);

OAIO_PIN(oaio_host_api, struct_size, 0);
OAIO_PIN(oaio_host_api, abi_major, 4);
OAIO_PIN(oaio_host_api, abi_minor, 8);
OAIO_PIN(oaio_host_api, log_enabled, 16);
OAIO_PIN(oaio_host_api, log, 24);
OAIO_PIN(oaio_host_api, bridge_name, 32);
OAIO_PIN(oaio_host_api, register_target, 40);
OAIO_PIN(oaio_host_api, unregister_target, 48);
OAIO_PIN(oaio_host_api, call_info, 56);
OAIO_PIN(oaio_host_api, complete, 64);
OAIO_PIN(oaio_host_api, fail, 72);
OAIO_PIN(oaio_host_api, stream_started, 80);
OAIO_PIN(oaio_host_api, stream_delta, 88);
OAIO_PIN(oaio_host_api, progress, 96);
OAIO_PIN(oaio_host_api, publish, 104);
OAIO_PIN(oaio_host_api, subscribe, 112);
OAIO_PIN(oaio_host_api, unsubscribe, 120);
OAIO_PIN(oaio_host_api, invoke, 128);
OAIO_PIN(oaio_host_api, stream, 136);
OAIO_PIN(oaio_host_api, cancel_call, 144);
OAIO_PIN(oaio_host_api, report_state, 152);
OAIO_PIN(oaio_host_api, metric_define, 160);
OAIO_PIN(oaio_host_api, metric_record, 168);
OAIO_PIN(oaio_host_api, state_dir, 176);
OAIO_PIN(oaio_host_api, dead_letter, 184);  // SINCE 1.1
OAIO_PIN_SIZE(oaio_host_api, 192);

OAIO_PIN(oaio_plugin_api, struct_size, 0);
OAIO_PIN(oaio_plugin_api, abi_major, 4);
OAIO_PIN(oaio_plugin_api, abi_minor, 8);
OAIO_PIN(oaio_plugin_api, name, 16);
OAIO_PIN(oaio_plugin_api, version, 32);
OAIO_PIN(oaio_plugin_api, description, 48);
OAIO_PIN(oaio_plugin_api, flows, 64);
OAIO_PIN(oaio_plugin_api, features, 68);
OAIO_PIN(oaio_plugin_api, config_schema, 72);
OAIO_PIN(oaio_plugin_api, manifest_types, 88);
OAIO_PIN(oaio_plugin_api, create, 104);
OAIO_PIN(oaio_plugin_api, start, 112);
OAIO_PIN(oaio_plugin_api, drain, 120);
OAIO_PIN(oaio_plugin_api, stop, 128);
OAIO_PIN(oaio_plugin_api, destroy, 136);
OAIO_PIN(oaio_plugin_api, call, 144);
OAIO_PIN(oaio_plugin_api, cancel, 152);
OAIO_PIN_SIZE(oaio_plugin_api, 160);
#else
#error "abi_layout_test pins the x86-64 LP64 layout; add the pins for this target"
#endif

// The values of the ABI's constants are part of it too.
static_assert(OAIO_PLUGIN_ABI_MAJOR == 1);
static_assert(OAIO_OK == 0 && OAIO_ERR_AGENT_TIMEOUT == 1 && OAIO_ERR_AGENT_UNAVAILABLE == 2 &&
              OAIO_ERR_BACKPRESSURE == 3 && OAIO_ERR_TRANSPORT == 4 && OAIO_ERR_CODEC == 5 && OAIO_ERR_AUTH == 6 &&
              OAIO_ERR_INVALID_REQUEST == 7 && OAIO_ERR_NO_HANDLER == 8 && OAIO_ERR_CANCELLED == 64 &&
              OAIO_ERR_INCOMPATIBLE == 65 && OAIO_ERR_INTERNAL == 66 && OAIO_ERR_CLOSED == 67);
static_assert(OAIO_LOG_DEBUG == 0 && OAIO_LOG_INFO == 1 && OAIO_LOG_WARN == 2 && OAIO_LOG_ERROR == 3);
static_assert(OAIO_FLOW_INVOKE == 1 && OAIO_FLOW_STREAM == 2 && OAIO_FLOW_PUBLISH == 4 && OAIO_FLOW_SUBSCRIBE == 8);
static_assert(OAIO_FEATURE_CANCEL == 1 && OAIO_FEATURE_PROGRESS == 2 && OAIO_FEATURE_DYNAMIC_TARGETS == 4);
static_assert(OAIO_STATE_RUNNING == 0 && OAIO_STATE_DEGRADED == 1 && OAIO_STATE_FAILED == 2);

TEST(AbiLayoutTest, EntrySymbolCarriesTheMajor) { EXPECT_STREQ(OAIO_PLUGIN_ENTRY_SYMBOL, "oaio_plugin_entry_v1"); }

TEST(AbiLayoutTest, HasFieldReadsTheWritersSize) {
  oaio_plugin_api t{};
  t.struct_size = offsetof(oaio_plugin_api, cancel);  // ends after `call`
  EXPECT_TRUE(OAIO_HAS_FIELD(&t, oaio_plugin_api, call));
  EXPECT_FALSE(OAIO_HAS_FIELD(&t, oaio_plugin_api, cancel));
  t.struct_size = sizeof t;
  EXPECT_TRUE(OAIO_HAS_FIELD(&t, oaio_plugin_api, cancel));
  const oaio_plugin_api* none = nullptr;
  EXPECT_FALSE(OAIO_HAS_FIELD(none, oaio_plugin_api, name));
}

// Defined dynamic symbols of a shared object, from `nm -D --defined-only`.
std::set<std::string> exported_symbols(const std::string& path) {
  std::set<std::string> names;
  std::string cmd = "nm -D --defined-only '" + path + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  if (p == nullptr) return names;
  char line[4096];
  while (::fgets(line, sizeof line, p) != nullptr) {
    std::string l(line);
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    std::size_t space = l.rfind(' ');
    if (space != std::string::npos) names.insert(l.substr(space + 1));
  }
  EXPECT_EQ(::pclose(p), 0) << cmd;
  return names;
}

TEST(AbiLayoutTest, TheCExampleExportsOnlyTheEntry) {
  std::string path = std::string(OAIO_BINARY_DIR) + "/plugins/echo_c.so";
  EXPECT_THAT(exported_symbols(path), ::testing::ElementsAre("oaio_plugin_entry_v1"));
}

// A C++ plugin also exports the weak/unique C++ standard-library instantiations
// libstdc++ declares with default visibility; none of its own code may be exported.
TEST(AbiLayoutTest, TheCppExampleExportsTheEntryAndNoCodeOfItsOwn) {
  std::string path = std::string(OAIO_BINARY_DIR) + "/plugins/echo_cpp.so";
  std::set<std::string> names = exported_symbols(path);
  EXPECT_EQ(names.count("oaio_plugin_entry_v1"), 1u);
  for (const std::string& n : names) {
    if (n == "oaio_plugin_entry_v1") continue;
    bool std_lib = false;
    for (const char* prefix : {"_ZNSt", "_ZNKSt", "_ZSt", "_ZTISt", "_ZTSSt", "_ZTVSt", "_ZZNSt", "_ZZNKSt",
                               "_ZGVZNSt", "_ZN9__gnu_cxx", "_ZNK9__gnu_cxx", "_ZNSa", "_ZNSs", "_ZTIN9__gnu_cxx",
                               "_ZTSN9__gnu_cxx", "_ZNSi", "_ZNSo"})
      std_lib = std_lib || n.rfind(prefix, 0) == 0;
    EXPECT_TRUE(std_lib) << "echo_cpp.so exports " << n;
  }
}

}  // namespace
