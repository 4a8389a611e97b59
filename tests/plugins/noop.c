/* noop: a valid plugin that does nothing (the control case); declares two seed types. */
#include "test_plugin.h"

TEST_PLUGIN_CALL("noop")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("noop")};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  static const char line[] = "noop: entry called";
  oaio_str s = TP_STR(line);
  (void)minor;
  g_api = api;
  if (api->log) api->log(NULL, OAIO_LOG_DEBUG, s); /* lets a test count entry calls */
  table.manifest_types.data = "noop_seed, noop_alt";
  table.manifest_types.len = sizeof("noop_seed, noop_alt") - 1;
  return &table;
}
