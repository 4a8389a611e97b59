/* where_called: answers every call with the id of the thread its call hook ran on,
 * {"tid":N}, and declares OAIO_FEATURE_NONBLOCKING_CALL (where_called_pooled.c builds
 * the same plugin without it). Lets a test see which thread the host calls it on. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_plugin.h"

#ifndef WHERE_CALLED_NAME
#define WHERE_CALLED_NAME "where_called"
#define WHERE_CALLED_FEATURES (OAIO_FEATURE_NONBLOCKING_CALL)
#endif

static oaio_status wc_call(void* instance, oaio_call* call, oaio_error* error) {
  char reply[64];
  int n = snprintf(reply, sizeof reply, "{\"tid\":%ld}", (long)syscall(SYS_gettid));
  oaio_str r = {reply, (size_t)n};
  (void)instance;
  (void)error;
  return g_api->complete(call, r);
}

static oaio_status wc_create(oaio_host* host, oaio_str config, void** instance, oaio_error* error) {
  (void)config;
  (void)error;
  *instance = &g_instance;
  return tp_register_target(host, WHERE_CALLED_NAME, sizeof(WHERE_CALLED_NAME) - 1, OAIO_FLOW_INVOKE);
}

#define tp_call wc_call
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS(WHERE_CALLED_NAME)};
#undef tp_call

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  table.features = WHERE_CALLED_FEATURES;
  table.create = wc_create;
  return &table;
}
