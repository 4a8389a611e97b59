/* missing_entry: a valid shared library that exports no oaio_plugin_entry_v1 (a misspelt one). */
#include "test_plugin.h"

TEST_PLUGIN_CALL("missing_entry")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("missing_entry")};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  return &table;
}
