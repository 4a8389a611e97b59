/* passthrough: answers every call (invoke or stream) with the payload it was sent, as
 * is, from its call hook, and declares OAIO_FEATURE_NONBLOCKING_CALL. Against a bus
 * handler that returns its payload, it shows what the ABI hop itself costs (host_bench).
 * The payload "garbage" (a JSON string) is answered with text that is not JSON, so a
 * test can see what a caller gets when a plugin completes with a broken payload. */
#include <string.h>

#include "test_plugin.h"

#define PASSTHROUGH_NAME "passthrough"

static oaio_status pt_call(void* instance, oaio_call* call, oaio_error* error) {
  static const char garbage[] = "\"garbage\"";
  static const char broken[] = "{\"broken\":";
  oaio_call_info info;
  (void)instance;
  (void)error;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  if (g_api->call_info(call, &info) != OAIO_OK) return OAIO_ERR_INTERNAL;
  if (info.payload.len == sizeof garbage - 1 && !memcmp(info.payload.data, garbage, info.payload.len)) {
    oaio_str bad = TP_STR(broken);
    return g_api->complete(call, bad);
  }
  return g_api->complete(call, info.payload);
}

TEST_PLUGIN_SERVING(PASSTHROUGH_NAME, OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM, OAIO_FEATURE_NONBLOCKING_CALL, pt_call)
