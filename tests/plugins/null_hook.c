/* null_hook: a table without the required `call` hook (only drain and cancel may be NULL). */
#include "test_plugin.h"

TEST_PLUGIN_CALL("null_hook")
static oaio_plugin_api table = {TEST_PLUGIN_TABLE_FIELDS("null_hook")};

OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* api, uint32_t minor) {
  (void)minor;
  g_api = api;
  table.call = NULL;
  return &table;
}
