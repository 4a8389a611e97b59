#define _GNU_SOURCE  /* memmem */
/* flaky_start: start() fails the first {"fail_starts": N} times in a process (with the
 * retry-after hint {"retry_after_ms": M}), then serves target "flaky"; {"report_failed":
 * true} makes a running instance report OAIO_STATE_FAILED on its first call. */
#include <stdlib.h>
#include <string.h>

#include "oaio/plugin.h"

static const oaio_host_api* g_api;
static int g_starts;  /* process-wide: counts start attempts across restarts */

typedef struct flaky {
  oaio_host* host;
  int fail_starts;
  unsigned retry_after_ms;
  int report_failed;
} flaky;

static int json_int(oaio_str config, const char* key) {
  const char* p = memmem(config.data, config.len, key, strlen(key));
  if (!p) return 0;
  p += strlen(key);
  while (*p == '"' || *p == ':' || *p == ' ') ++p;
  return atoi(p);
}

static oaio_status flaky_create(oaio_host* host, oaio_str config, void** instance, oaio_error* error) {
  flaky* f = (flaky*)calloc(1, sizeof(flaky));
  oaio_target_desc t;
  (void)error;
  f->host = host;
  f->fail_starts = json_int(config, "\"fail_starts\"");
  f->retry_after_ms = (unsigned)json_int(config, "\"retry_after_ms\"");
  f->report_failed = memmem(config.data, config.len, "\"report_failed\":true", 20) != NULL;
  memset(&t, 0, sizeof t);
  t.struct_size = sizeof t;
  t.name.data = "flaky";
  t.name.len = 5;
  t.flows = OAIO_FLOW_INVOKE;
  *instance = f;
  return g_api->register_target(host, &t);
}

static oaio_status flaky_start(void* instance, oaio_error* error) {
  flaky* f = (flaky*)instance;
  if (g_starts++ < f->fail_starts) {
    error->code = OAIO_ERR_TRANSPORT;
    error->message.data = "upstream not reachable yet";
    error->message.len = strlen(error->message.data);
    error->retryable = 1;
    error->retry_after_ms = f->retry_after_ms;
    if (f->retry_after_ms) g_api->report_state(f->host, OAIO_STATE_FAILED, error->message, f->retry_after_ms);
    return OAIO_ERR_TRANSPORT;
  }
  return OAIO_OK;
}

static void flaky_stop(void* instance) { (void)instance; }
static void flaky_destroy(void* instance) { free(instance); }

static oaio_status flaky_call(void* instance, oaio_call* call, oaio_error* error) {
  flaky* f = (flaky*)instance;
  oaio_str done = {"\"ok\"", 4};
  (void)error;
  if (f->report_failed) {
    oaio_str why = {"lost the upstream", 17};
    f->report_failed = 0;
    g_api->report_state(f->host, OAIO_STATE_FAILED, why, 0);
  }
  return g_api->complete(call, done);
}

static const oaio_plugin_api kApi = {
    sizeof(oaio_plugin_api), OAIO_PLUGIN_ABI_MAJOR, 0,
    {"flaky_start", 11}, {"1.0.0", 5}, {"fails to start on request", 25}, OAIO_FLOW_INVOKE, 0,
    {"{\"type\":\"object\"}", 17}, {"", 0},
    flaky_create, flaky_start, NULL, flaky_stop, flaky_destroy, flaky_call, NULL,
};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t host_minor) {
  (void)host_minor;
  g_api = api;
  return &kApi;
}
