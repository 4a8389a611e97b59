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

TEST_PLUGIN_SERVING(WHERE_CALLED_NAME, OAIO_FLOW_INVOKE, WHERE_CALLED_FEATURES, wc_call)
