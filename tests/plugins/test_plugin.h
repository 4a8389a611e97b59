/* Shared by the test plugins (not a plugin itself): a valid ABI 1.0 table built from
 * no-op hooks. Each test plugin starts from TEST_PLUGIN_TABLE and breaks one thing.
 * The call hook completes every call with {"plugin":"<name>"}. */
#ifndef OAIO_TEST_PLUGIN_H_
#define OAIO_TEST_PLUGIN_H_

#include <stddef.h>

#include "oaio/plugin.h"

static const oaio_host_api* g_api; /* set by the entry */
static int g_instance;             /* every instance is this one int */

static oaio_status tp_create(oaio_host* host, oaio_str config, void** instance, oaio_error* error) {
  (void)host;
  (void)config;
  (void)error;
  *instance = &g_instance;
  return OAIO_OK;
}
static oaio_status tp_start(void* instance, oaio_error* error) {
  (void)instance;
  (void)error;
  return OAIO_OK;
}
static oaio_status tp_drain(void* instance, uint32_t deadline_ms) {
  (void)instance;
  (void)deadline_ms;
  return OAIO_OK;
}
static void tp_stop(void* instance) { (void)instance; }
static void tp_destroy(void* instance) { (void)instance; }
static void tp_cancel(void* instance, oaio_call* call) {
  (void)instance;
  (void)call;
}

#define TP_STR(s) {s, sizeof(s) - 1}

/* Registers the one target `name` (a string literal) with `flows`: the create hook of
 * the test plugins that serve a target. */
static inline oaio_status tp_register_target(oaio_host* host, const char* name, size_t name_len, uint32_t flows) {
  oaio_target_desc t = {0};
  t.struct_size = sizeof t;
  t.name.data = name;
  t.name.len = name_len;
  t.flows = flows;
  return g_api->register_target(host, &t);
}

/* The call hook of plugin NAME. */
#define TEST_PLUGIN_CALL(NAME)                                                  \
  static oaio_status tp_call(void* instance, oaio_call* call, oaio_error* error) { \
    static const char reply[] = "{\"plugin\":\"" NAME "\"}";                    \
    oaio_str r = TP_STR(reply);                                                  \
    (void)instance;                                                              \
    (void)error;                                                                 \
    return g_api->complete(call, r);                                             \
  }

/* The fields of a complete, valid 1.0 table for plugin NAME whose call hook is CALL. */
#define TEST_PLUGIN_TABLE_FIELDS_WITH_CALL(NAME, CALL)      \
  .struct_size = sizeof(oaio_plugin_api), .abi_major = OAIO_PLUGIN_ABI_MAJOR, \
  .name = TP_STR(NAME), .version = TP_STR("0.0.1"), .description = TP_STR("test plugin " NAME), \
  .flows = OAIO_FLOW_INVOKE, .config_schema = TP_STR("{\"type\":\"object\"}"), \
  .create = tp_create, .start = tp_start, .drain = tp_drain, .stop = tp_stop, .destroy = tp_destroy, \
  .call = CALL, .cancel = tp_cancel

/* The same with the call hook of TEST_PLUGIN_CALL. A plugin that breaks one thing
 * changes it in its entry, before returning the table. */
#define TEST_PLUGIN_TABLE_FIELDS(NAME) TEST_PLUGIN_TABLE_FIELDS_WITH_CALL(NAME, tp_call)

/* A whole working plugin NAME that serves the one target NAME with FLOWS, declares
 * FEATURES and answers with the call hook CALL: its create hook, table and entry. */
#define TEST_PLUGIN_SERVING(NAME, FLOWS, FEATURES, CALL)                                               \
  static oaio_status tp_serving_create(oaio_host* host, oaio_str config, void** instance,           \
                                       oaio_error* error) {                                          \
    (void)config;                                                                                    \
    (void)error;                                                                                     \
    *instance = &g_instance;                                                                         \
    return tp_register_target(host, NAME, sizeof(NAME) - 1, FLOWS);                                  \
  }                                                                                                  \
  static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS_WITH_CALL(NAME, CALL)};                   \
  OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) { \
    (void)minor;                                                                                     \
    g_api = api;                                                                                     \
    table.flows = FLOWS;                                                                             \
    table.features = FEATURES;                                                                       \
    table.create = tp_serving_create;                                                                \
    return &table;                                                                                   \
  }

#endif /* OAIO_TEST_PLUGIN_H_ */
