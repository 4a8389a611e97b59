#define _GNU_SOURCE  /* memmem */
/* crasher: serves target "<config target>"; a call with payload {"crash":true} aborts
 * the whole process (as a buggy third-party plugin would), anything else echoes. */
#include <stdlib.h>
#include <string.h>

#include "oaio/plugin.h"

static const oaio_host_api* g_api;

typedef struct crasher {
  oaio_host* host;
} crasher;

static oaio_str s(const char* text) {
  oaio_str r = {text, strlen(text)};
  return r;
}

static oaio_status crasher_create(oaio_host* host, oaio_str config, void** instance, oaio_error* error) {
  crasher* c = (crasher*)calloc(1, sizeof(crasher));
  oaio_target_desc t;
  (void)config;
  (void)error;
  c->host = host;
  memset(&t, 0, sizeof t);
  t.struct_size = sizeof t;
  t.name = s("crasher");
  t.flows = OAIO_FLOW_INVOKE;
  *instance = c;
  return g_api->register_target(host, &t);
}

static oaio_status crasher_start(void* instance, oaio_error* error) {
  (void)instance;
  (void)error;
  return OAIO_OK;
}

static void crasher_stop(void* instance) { (void)instance; }
static void crasher_destroy(void* instance) { free(instance); }

static oaio_status crasher_call(void* instance, oaio_call* call, oaio_error* error) {
  oaio_call_info info;
  (void)instance;
  (void)error;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  g_api->call_info(call, &info);
  if (info.payload.len >= 12 && memmem(info.payload.data, info.payload.len, "\"crash\":true", 12) != NULL) abort();
  return g_api->complete(call, info.payload);
}

static const oaio_plugin_api kApi = {
    sizeof(oaio_plugin_api), OAIO_PLUGIN_ABI_MAJOR, 0,
    {"crasher", 7}, {"1.0.0", 5}, {"aborts the process on request", 29}, OAIO_FLOW_INVOKE, 0,
    {"{\"type\":\"object\"}", 17}, {"", 0},
    crasher_create, crasher_start, NULL, crasher_stop, crasher_destroy, crasher_call, NULL,
};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t host_minor) {
  (void)host_minor;
  g_api = api;
  return &kApi;
}
